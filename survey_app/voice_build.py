"""Build the read-aloud clips of the current questionnaire: `python -m survey_app.voice_build`.

One clip per question (survey_app.readaloud.spoken_text), spoken by espeak-ng's Vietnamese
voice and encoded as Ogg Opus at a low bitrate (a few tens of kilobytes each), named by the
questionnaire's version and the question's key. The manifest beside them records the words
each clip was made from and their hash; the clips and the manifest are committed, so the app
runs without espeak-ng. A clip whose words did not change is left as it is (--force
rebuilds every one). Needs espeak-ng and opus-tools (opusenc).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from survey_app.questionnaire import CURRENT, Questionnaire
from survey_app.readaloud import (
    CLIPS_FOLDER,
    MANIFEST_NAME,
    clip_name,
    spoken_text,
    text_hash,
)

CLIPS_ROOT = Path(__file__).parent / "static" / CLIPS_FOLDER
VOICE = "vi"
WORDS_PER_MINUTE = "150"
BITRATE_KBPS = "12"


def load_manifest(root: Path = CLIPS_ROOT) -> dict:
    path = root / MANIFEST_NAME
    if not path.exists():
        return {}
    data: dict = json.loads(path.read_text(encoding="utf-8"))
    return data


def _speak(text: str, target: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "clip.wav"
        subprocess.run(
            ["espeak-ng", "-v", VOICE, "-s", WORDS_PER_MINUTE, "-w", str(wav), text],
            check=True,
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["opusenc", "--quiet", "--bitrate", BITRATE_KBPS, "--downmix-mono",
             "--comp", "10", "--discard-comments", str(wav), str(target)],
            check=True,
        )


def build(questionnaire: Questionnaire = CURRENT, root: Path = CLIPS_ROOT,
          force: bool = False) -> list[str]:
    """Make the clips whose words changed; return the names of the clips made."""
    for tool in ("espeak-ng", "opusenc"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed: apt-get install espeak-ng opus-tools")
    manifest = load_manifest(root)
    entries = manifest.setdefault(questionnaire.version, {})
    made = []
    for question in questionnaire.questions:
        text = spoken_text(question)
        name = clip_name(questionnaire, question)
        known = entries.get(question.key)
        if not force and known and known.get("sha256") == text_hash(text) \
                and (root / name).exists():
            continue
        _speak(text, root / name)
        entries[question.key] = {"file": name, "text": text, "sha256": text_hash(text)}
        made.append(name)
    (root / MANIFEST_NAME).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild every clip")
    args = parser.parse_args(argv)
    made = build(force=args.force)
    for name in made:
        size = (CLIPS_ROOT / name).stat().st_size
        print(f"{name}: {size} bytes")
    if not made:
        print("Every clip is up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
