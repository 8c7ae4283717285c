"""Query words that start with ``-`` (``search --image a.jpg -people``): a term to subtract, not a flag.

argparse reads every word that starts with ``-`` as an option, so ``search "-blurry"`` ended in
"unrecognized arguments" (and ``-kittens`` as ``-k ittens``, ``-hello`` as ``-h``). Before
argparse runs, ``take_dash_words`` walks the arguments with the parser's own options, sub-command
by sub-command, and takes out such words where the command has a ``query``: a ``-`` and a letter,
at least two letters long, that is not one of that command's options (nor a short one with its
value joined, ``-k5``) and not an option's value. What it leaves, argparse parses as before.

A wrong flag still says what is wrong: a long option that is none of the command's (``--min-scroe``)
is an error that names the nearest one; ``-folder`` with one dash, where ``--folder`` is an
option, is an error that says so, not the words "folder" to subtract.
"""

from __future__ import annotations

import argparse
import difflib

QUERY = "query"  # the positional that dash words join


def take_dash_words(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[list[str], list[str]]:
    """``argv`` without its dash words, and those words in order (``["-people"]``). A misspelled
    long option, or a long one written with one dash, is ``parser.error`` (of its sub-command)."""
    kept: list[str] = []
    words: list[str] = []
    current = parser
    at = 0
    while at < len(argv):
        word = argv[at]
        at += 1
        if word == "--":
            return kept + argv[at - 1:], words  # after "--", everything is a positional, as argparse reads it
        action = _option(current, word)
        if action is not None:
            values = (action.nargs or 1) if _separate_values(action, word) else 0
            kept.extend(argv[at - 1:at + values])  # an option's value is never a dash word
            at += values
        elif _is_dash_word(current, word):
            words.append(word)
        else:
            kept.append(word)
            current = _subcommand(current, word) or current
    return kept, words


def with_dash_words(query: str, words: list[str]) -> str:
    """The query with each dash word subtracted: ``beach`` and ``-people`` -> ``beach - people``
    (a sum of terms: where the word stood does not change what it finds)."""
    return " ".join([query.strip()] + [f"- {word[1:].strip()}" for word in words]).strip()


def _subcommand(parser: argparse.ArgumentParser, word: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and word in action.choices:
            return action.choices[word]
    return None


def _long_options(parser: argparse.ArgumentParser) -> list[str]:
    return [name for name in parser._option_string_actions if name.startswith("--")]


def _option(parser: argparse.ArgumentParser, word: str) -> argparse.Action | None:
    """The option ``word`` names (``-k``, ``-k5``, ``--min-score``, ``--min=0.2``, an unambiguous
    abbreviation as argparse takes it), or None; a ``--word`` that is none of them is an error."""
    options = parser._option_string_actions
    if word in options:
        return options[word]
    if word.startswith("--") and len(word) > 2:
        name = word.split("=", 1)[0]
        matches = [option for option in _long_options(parser) if option.startswith(name)]
        if len(matches) == 1:
            return options[matches[0]]
        if not matches:
            near = difflib.get_close_matches(name, _long_options(parser), n=1)
            parser.error(f"unrecognized option {name}" + (f" (did you mean {near[0]}?)" if near else ""))
        return None  # ambiguous: argparse says which it could be
    short = options.get(word[:2]) if len(word) > 2 and word[0] == "-" and word[1] != "-" else None
    if short is not None and short.nargs != 0 and not word[2].isalpha():
        return short  # -k5: the option with its value joined
    return None


def _separate_values(action: argparse.Action, word: str) -> bool:
    """Whether ``action``, as ``word`` writes it, takes its value(s) from the next argument(s)."""
    if "=" in word or (not word.startswith("--") and len(word) > 2):
        return False
    return action.nargs is None or isinstance(action.nargs, int) and action.nargs > 0


def _is_dash_word(parser: argparse.ArgumentParser, word: str) -> bool:
    if len(word) < 3 or word[0] != "-" or not word[1].isalpha():
        return False  # "-x" alone is more likely a flag mistyped than a word; "-1" is a number
    query = any(action.dest == QUERY for action in parser._actions)
    name = word.split("=", 1)[0]
    options = [option for option in _long_options(parser) if option.startswith(f"-{name}")]
    if options:  # -folder DIR, info -json: a flag with one dash too few, not the word "folder" to subtract
        subtract = f" to subtract the word, write it in the query: \"... - {word[1:]}\"" if query else ""
        parser.error(f"unrecognized option {name} (did you mean {' or '.join(options)}?{subtract})")
    return query  # else argparse says it is not an argument of this command
