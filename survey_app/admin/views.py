"""Administration: accounts, agencies and their counters, sectors, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from survey_app.admin import bp
from survey_app.admin.forms import (
    AgencyForm,
    AuditFilterForm,
    CounterForm,
    PasswordResetForm,
    ResetLinkForm,
    SectorForm,
    UserCreateForm,
    UserEditForm,
    add_account_error,
    add_error,
)
from survey_app.extensions import db
from survey_app.models import Agency, Counter, Sector, User
from survey_app.services import second_factor
from survey_app.services.accounts import (
    AccountError,
    create_reset_link,
    set_password,
)
from survey_app.services.admin import (
    AdminError,
    AuditFilters,
    add_counter,
    audit_actions,
    audit_events,
    create_account,
    create_agency,
    list_users,
    rename_counter,
    update_account,
    update_agency,
    update_sector,
)
from survey_app.services.agencies import agency_overview
from survey_app.services.codes import survey_url_root
from survey_app.services.directory import list_agencies, list_sectors
from survey_app.services.passwords import ADMIN_MIN_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from survey_app.services.reports import load_target_book
from survey_app.web.access import permission_required
from survey_app.web.audit_labels import action_label, describe
from survey_app.web.password_messages import password_hint

Page = Response | str | tuple[str, int]
Model = TypeVar("Model")


def _get_or_404(model: type[Model], ident: int) -> Model:
    found = db.session.get(model, ident)
    if found is None:
        abort(404)
    return found


def _agency(agency_id: int | None) -> Agency | None:
    return _get_or_404(Agency, agency_id) if agency_id is not None else None


def _status() -> int:
    """Return the status of a form page: 400 when a submitted form is shown again."""
    return 400 if request.method == "POST" else 200


def _actor() -> User:
    user: User = current_user._get_current_object()
    return user


def _keep_signed_in(user: User) -> None:
    # A change that ends the account's sessions must not sign out the admin making it.
    if user.id == current_user.id:
        login_user(user)


# Accounts --------------------------------------------------------------------------------


@bp.get("/users")
@permission_required("accounts.manage")
def users() -> str:
    """List every account."""
    return render_template("admin/users.html", users=list_users(db.session))


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("accounts.manage")
def user_new() -> Page:
    """Create an account with an initial password."""
    form = UserCreateForm(agencies=list_agencies(db.session))
    if form.validate_on_submit():
        try:
            user = create_account(
                db.session, email=form.email.data, password=form.password.data,
                role=form.role.data, agency=_agency(form.agency_id.data), name=form.name.data,
            )
        except AccountError as error:
            add_account_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã tạo tài khoản %(email)s.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/user_new.html", form=form, password_hint=password_hint(MIN_PASSWORD_LENGTH),
        admin_min_password_length=ADMIN_MIN_PASSWORD_LENGTH,
    ), _status()


def _render_user(user: User, form: UserEditForm | None = None,
                 password_form: PasswordResetForm | None = None,
                 reset_link: str | None = None,
                 reset_expires_at: datetime | None = None) -> Page:
    form = form or UserEditForm(formdata=None, obj=user, agencies=list_agencies(db.session))
    password_form = password_form or PasswordResetForm(formdata=None)
    return render_template(
        "admin/user_edit.html", user=user, form=form, password_form=password_form,
        link_form=ResetLinkForm(formdata=None),
        password_hint=password_hint(
            ADMIN_MIN_PASSWORD_LENGTH if user.role == "admin" else MIN_PASSWORD_LENGTH),
        reset_link=reset_link, reset_expires_at=reset_expires_at,
    ), 200 if reset_link else _status()


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required("accounts.manage")
def user_edit(user_id: int) -> Page:
    """Change an account's name, role, agency or whether it may sign in."""
    user = _get_or_404(User, user_id)
    form = UserEditForm(obj=user, agencies=list_agencies(db.session))
    if form.validate_on_submit():
        try:
            update_account(
                db.session, user, actor=_actor(), role=form.role.data,
                agency=_agency(form.agency_id.data), name=form.name.data,
                is_enabled=form.is_enabled.data,
            )
        except AccountError as error:
            add_account_error(form, error)
        except AdminError as error:
            add_error(form, error.field, error.message)
        else:
            db.session.commit()
            _keep_signed_in(user)
            flash(_("Đã lưu tài khoản %(email)s.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return _render_user(user, form=form)


@bp.post("/users/<int:user_id>/password")
@permission_required("accounts.manage")
def user_password(user_id: int) -> Page:
    """Give an account a new password, which ends its open sessions."""
    user = _get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            set_password(db.session, user, form.password.data, actor=_actor())
        except AccountError as error:
            add_account_error(form, error)
        else:
            db.session.commit()
            _keep_signed_in(user)
            flash(_("Đã đặt mật khẩu mới cho %(email)s.", email=user.email), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return _render_user(user, password_form=form)


@bp.post("/users/<int:user_id>/reset-link")
@permission_required("accounts.manage")
def user_reset_link(user_id: int) -> Page:
    """Issue a one-time link with which the user chooses a new password; show it once."""
    user = _get_or_404(User, user_id)
    if not ResetLinkForm().validate_on_submit():
        abort(400)
    if not user.is_enabled:
        flash(_("Tài khoản đang bị khóa: hãy mở khóa trước khi tạo liên kết."), "error")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    reset, secret = create_reset_link(db.session, user, actor=_actor())
    db.session.commit()
    link = survey_url_root() + url_for("auth.reset_password", token=secret)
    # Rendered, never redirected: the link is in this one response and nowhere else.
    response = make_response(_render_user(user, reset_link=link, reset_expires_at=reset.expires_at))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/users/<int:user_id>/second-factor/reset")
@permission_required("accounts.manage")
def user_second_factor_reset(user_id: int) -> Page:
    """Take the second factor off an account whose owner lost the phone; logged."""
    user = _get_or_404(User, user_id)
    if not ResetLinkForm().validate_on_submit():
        abort(400)
    if user.has_second_factor or user.totp_secret is not None:
        second_factor.reset(db.session, user, actor=_actor())
        db.session.commit()
        _keep_signed_in(user)
        flash(_("Đã đặt lại xác thực hai bước của %(email)s. Người dùng sẽ bật lại ở lần "
                "đăng nhập sau.", email=user.email), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


# Agencies and counters -------------------------------------------------------------------


@bp.get("/agencies")
@permission_required("agencies.manage")
def agencies() -> str:
    """List every agency with its parent and number of counters."""
    return render_template("admin/agencies.html", rows=agency_overview(db.session, None))


@bp.route("/agencies/new", methods=["GET", "POST"])
@permission_required("agencies.manage")
def agency_new() -> Page:
    """Add an agency."""
    form = AgencyForm(agencies=list_agencies(db.session))
    if form.validate_on_submit():
        try:
            agency = create_agency(
                db.session, code=form.code.data, name=form.name.data, level=form.level.data,
                parent=_agency(form.parent_id.data),
                hotline=form.hotline.data, hotline_note=form.hotline_note.data,
            )
        except AdminError as error:
            add_error(form, error.field, error.message)
        else:
            db.session.commit()
            flash(_("Đã thêm đơn vị %(name)s.", name=agency.name), "success")
            return redirect(url_for("admin.agency_edit", agency_id=agency.id))
    return render_template("admin/agency_new.html", form=form), _status()


def _render_agency(agency: Agency, form: AgencyForm | None = None,
                   new_counter_form: CounterForm | None = None,
                   failed_rename: tuple[int, CounterForm] | None = None) -> Page:
    """Show the agency's form, its counters with a rename form each, and an add form."""
    form = form or AgencyForm(formdata=None, obj=agency, agencies=list_agencies(db.session))
    new_counter_form = new_counter_form or CounterForm(formdata=None, prefix="new_counter")
    rename_forms = {
        counter.id: CounterForm(formdata=None, obj=counter, prefix=f"counter-{counter.id}")
        for counter in agency.counters
    }
    if failed_rename is not None:
        rename_forms[failed_rename[0]] = failed_rename[1]
    return render_template(
        "admin/agency_edit.html", agency=agency, form=form,
        new_counter_form=new_counter_form, rename_forms=rename_forms,
    ), _status()


@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@permission_required("agencies.manage")
def agency_edit(agency_id: int) -> Page:
    """Change an agency's code, name, level, parent or hotline; list and add its counters."""
    agency = _get_or_404(Agency, agency_id)
    form = AgencyForm(obj=agency, agencies=list_agencies(db.session))
    if form.validate_on_submit():
        try:
            update_agency(
                db.session, agency, code=form.code.data, name=form.name.data,
                level=form.level.data, parent=_agency(form.parent_id.data),
                hotline=form.hotline.data, hotline_note=form.hotline_note.data,
            )
        except AdminError as error:
            add_error(form, error.field, error.message)
        else:
            db.session.commit()
            flash(_("Đã lưu đơn vị %(name)s.", name=agency.name), "success")
            return redirect(url_for("admin.agencies"))
    return _render_agency(agency, form=form)


@bp.post("/agencies/<int:agency_id>/counters", endpoint="agency_counter_add")
@permission_required("agencies.manage")
def counter_add(agency_id: int) -> Page:
    """Add a counter to an agency."""
    agency = _get_or_404(Agency, agency_id)
    form = CounterForm(prefix="new_counter")
    if form.validate_on_submit():
        try:
            counter = add_counter(db.session, agency, form.name.data)
        except AdminError as error:
            add_error(form, error.field, error.message)
        else:
            db.session.commit()
            flash(_("Đã thêm quầy %(name)s.", name=counter.name), "success")
            return redirect(url_for("admin.agency_edit", agency_id=agency.id, _anchor="counters"))
    return _render_agency(agency, new_counter_form=form)


@bp.post("/counters/<int:counter_id>", endpoint="agency_counter_rename")
@permission_required("agencies.manage")
def counter_rename(counter_id: int) -> Page:
    """Rename a counter; its QR codes and answers stay with it."""
    counter = _get_or_404(Counter, counter_id)
    form = CounterForm(prefix=f"counter-{counter.id}")
    if form.validate_on_submit():
        try:
            rename_counter(db.session, counter, form.name.data)
        except AdminError as error:
            add_error(form, error.field, error.message)
        else:
            db.session.commit()
            flash(_("Đã đổi tên quầy thành %(name)s.", name=counter.name), "success")
            return redirect(
                url_for("admin.agency_edit", agency_id=counter.agency_id, _anchor="counters")
            )
    return _render_agency(counter.agency, failed_rename=(counter.id, form))


# Sectors ---------------------------------------------------------------------------------


@bp.get("/sectors")
@permission_required("sectors.manage")
def sectors() -> str:
    """List the sectors with their labels and the target scopes they belong to."""
    sectors = list_sectors(db.session)
    book = load_target_book(db.session)
    memberships = {s.id: book.scopes_holding(s.id) for s in sectors}
    return render_template("admin/sectors.html", sectors=sectors, memberships=memberships)


@bp.route("/sectors/<int:sector_id>", methods=["GET", "POST"])
@permission_required("sectors.manage")
def sector_edit(sector_id: int) -> Page:
    """Change a sector's labels; its code stays."""
    sector = _get_or_404(Sector, sector_id)
    form = SectorForm(obj=sector)
    if form.validate_on_submit():
        try:
            update_sector(
                db.session, sector, label_vi=form.label_vi.data, label_en=form.label_en.data,
            )
        except AdminError as error:
            add_error(form, error.field, error.message)
        else:
            db.session.commit()
            flash(_("Đã lưu lĩnh vực %(code)s.", code=sector.code), "success")
            return redirect(url_for("admin.sectors"))
    scopes = load_target_book(db.session).scopes_holding(sector.id)
    return render_template("admin/sector_edit.html", sector=sector, form=form,
                           scopes=scopes), _status()


# Audit log -------------------------------------------------------------------------------


TARGET_LABELS = {
    "User": _l("Tài khoản"),
    "Agency": _l("Đơn vị"),
    "Counter": _l("Quầy"),
    "Sector": _l("Lĩnh vực"),
    "SurveyCode": _l("Mã QR"),
    "ApiToken": _l("Mã truy cập API"),
    "ReceiptKey": _l("Khóa ký liên kết biên nhận"),
}


def target_label(target_type: str) -> str:
    return str(TARGET_LABELS.get(target_type, target_type))


def _audit_page_url(page: int) -> str:
    args: dict[str, Any] = request.args.to_dict()
    args["page"] = page
    return url_for("admin.audit", **args)


@bp.get("/audit", endpoint="audit")
@permission_required("audit.view")
def audit_log() -> Page:
    """Show the audit log, newest first, narrowed by action, actor and dates."""
    form = AuditFilterForm(formdata=request.args, actions=audit_actions(db.session))
    if not form.validate():
        return render_template("admin/audit.html", form=form, result=None), 400
    filters = AuditFilters(
        action=form.action.data or None, actor=form.actor.data,
        date_from=form.date_from.data, date_to=form.date_to.data,
    )
    result = audit_events(db.session, filters, ZoneInfo(current_app.config["TIMEZONE"]),
                          page=request.args.get("page", 1, type=int) or 1)
    return render_template(
        "admin/audit.html", form=form, result=result, target_label=target_label,
        action_label=action_label, describe=describe,
        previous_url=_audit_page_url(result.page - 1) if result.has_previous else None,
        next_url=_audit_page_url(result.page + 1) if result.has_next else None,
    )
