"""The unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from the alphabet 0-9 A-H J-N P-R T-U W-Y (no I, O, S, V, Z). The
first character is the registration authority, the second the entity type, then a
6-digit administrative division code, a 9-character organisation code, and a check
character: C18 = 31 - (sum(value(Ci) * W[i]) mod 31), 31 -> 0.
The same rule runs in the database (accounts/migrations, kam_credit_code_valid).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_character(first17: str) -> str:
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    if len(code) != 18 or any(char not in ALPHABET for char in code):
        return False
    if not code[2:8].isdigit():
        return False
    return credit_code_check_character(code[:17]) == code[17]


def validate_credit_code(value: str) -> None:
    if not value:
        return
    if len(value) != 18:
        raise ValidationError(_("A unified social credit code has 18 characters."), code="credit_code_length")
    if any(char not in ALPHABET for char in value):
        raise ValidationError(
            _("A unified social credit code uses digits and capital letters except I, O, S, V and Z."),
            code="credit_code_alphabet",
        )
    if not is_valid_credit_code(value):
        raise ValidationError(
            _("The check character of this unified social credit code is wrong; please check the code."),
            code="credit_code_checksum",
        )


# PL/pgSQL twin, used by the CHECK constraint on accounts_account.credit_code.
CREDIT_CODE_SQL_FUNCTION = """
CREATE OR REPLACE FUNCTION kam_credit_code_valid(code text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKLMNPQRTUWXY';
    weights constant int[] := ARRAY[1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    total int := 0;
    pos int;
BEGIN
    IF code IS NULL OR code = '' THEN
        RETURN true;
    END IF;
    IF code !~ '^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$' THEN
        RETURN false;
    END IF;
    FOR i IN 1..17 LOOP
        pos := strpos(alphabet, substr(code, i, 1)) - 1;
        total := total + pos * weights[i];
    END LOOP;
    RETURN substr(alphabet, ((31 - total % 31) % 31) + 1, 1) = substr(code, 18, 1);
END;
$$;
"""
