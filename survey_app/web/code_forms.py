"""Forms of the code pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from survey_app.models import Agency, Counter, Sector
from survey_app.services.receipts import receipt_counter_ids
from survey_app.text import clean_text

NEW_COUNTER = "new"


class CodeCreateForm(FlaskForm):
    counter = SelectField(
        _l("Quầy"),
        validators=[InputRequired(message=_l("Vui lòng chọn quầy."))],
        invalid_choice_message=_l("Vui lòng chọn quầy trong danh sách."),
    )
    new_counter_name = StringField(
        _l("Tên quầy mới"),
        filters=[clean_text],
        validators=[Optional(), Length(max=100, message=_l("Tên quầy dài quá 100 ký tự."))],
    )
    sector = SelectField(
        _l("Lĩnh vực"),
        validators=[InputRequired(message=_l("Vui lòng chọn lĩnh vực."))],
        invalid_choice_message=_l("Vui lòng chọn lĩnh vực trong danh sách."),
    )

    def __init__(
        self,
        *args: Any,
        counters: Sequence[Counter],
        sectors: Sequence[Sector],
        language: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.counter.choices = [(str(c.id), c.name) for c in counters] + [
            (NEW_COUNTER, _("Quầy mới (nhập tên bên dưới)"))
        ]
        self.sector.choices = [(str(s.id), s.label(language)) for s in sectors]

    def validate(self, extra_validators: Any = None) -> bool:
        # Checked here: the name field's Optional() would stop a field-level check.
        is_valid = super().validate(extra_validators)
        if self.counter.data == NEW_COUNTER and not self.new_counter_name.data:
            self.new_counter_name.errors = [*self.new_counter_name.errors,
                                            _("Vui lòng nhập tên quầy mới.")]
            return False
        return is_valid


def build_code_form(
    session: Session, agency: Agency, language: str, formdata: Any = None
) -> CodeCreateForm:
    """Return the form that issues a code, listing the agency's counters and every sector.

    The counter that files receipt answers is left out: no QR code is printed for it.
    """
    counters = session.scalars(
        select(Counter)
        .where(
            Counter.agency_id == agency.id,
            Counter.id.not_in(receipt_counter_ids(session, agency.id)),
        )
        .order_by(Counter.name)
    ).all()
    sectors = session.scalars(select(Sector).order_by(Sector.position, Sector.id)).all()
    return CodeCreateForm(formdata=formdata, counters=counters, sectors=sectors, language=language)
