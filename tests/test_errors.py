"""User-facing errors: one line, located, with how many more there are."""

from __future__ import annotations

from sw_nlp.errors import InputError, RegistryError, SwNlpError, with_count


def test_the_first_problem_says_how_many_more_there_are():
    assert with_count("unknown label 'x'", 1) == "unknown label 'x'"
    assert with_count("unknown label 'x'", 5) == "unknown label 'x' (and 4 more)"
    assert (
        with_count("empty text", 3, "run `sw-nlp data validate`")
        == "empty text (and 2 more; run `sw-nlp data validate`)"
    )


def test_errors_are_located_and_carry_their_exit_codes():
    error = InputError("empty text", "cases.csv", 4, "text")
    assert str(error) == "cases.csv:4:text: empty text"
    assert (InputError.exit_code, RegistryError.exit_code) == (3, 5)
    assert issubclass(RegistryError, SwNlpError)
