"""Every action written to the audit log has a name in words on the audit page."""

from __future__ import annotations

import ast

from survey_app.web.audit_labels import ACTION_LABELS
from tests.factories import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "survey_app"


def _is_audit_record(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr == "record"
            and isinstance(func.value, ast.Name) and func.value.id == "audit")


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def _assigned(tree: ast.Module, name: str) -> set[str]:
    """Every string assigned anywhere in the module to `name` (a constant, a choice, a map)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                found |= (set(_strings(node.value)) if not isinstance(node.value, ast.Dict)
                          else {v.value for v in node.value.values
                                if isinstance(v, ast.Constant) and isinstance(v.value, str)})
    return found


def logged_actions() -> dict[str, str]:
    """Return each action passed to audit.record in the code, with where it was found."""
    actions: dict[str, str] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _is_audit_record(node)):
                continue
            where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
            arg = node.args[1] if len(node.args) > 1 else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names = {arg.value}
            elif isinstance(arg, ast.Name):
                names = _assigned(tree, arg.id)
            elif isinstance(arg, ast.Subscript) and isinstance(arg.value, ast.Name):
                names = _assigned(tree, arg.value.id)
            else:
                names = set()
            assert names, f"{where}: the action logged there cannot be read from the code"
            for name in names:
                actions[name] = where
    return actions


def test_every_logged_action_has_words():
    actions = logged_actions()
    assert len(actions) > 30, "too few actions found: has audit.record been renamed?"
    unnamed = sorted(f"{name} ({where})" for name, where in actions.items()
                     if name not in ACTION_LABELS)
    assert unnamed == [], f"the audit page would show these actions as code: {unnamed}"


def test_no_label_names_an_action_that_is_never_logged():
    stale = sorted(set(ACTION_LABELS) - set(logged_actions()))
    assert stale == []
