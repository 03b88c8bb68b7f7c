"""VADER's ``polarity_scores``, the same floats, in a fraction of its time.

``vaderSentiment``'s ``SentimentIntensityAnalyzer.polarity_scores`` is pure Python and the
largest cost per sentence of the ``lexicon`` feature set: it walks the text one character at a
time to replace emojis, and lowercases the whole sentence again for each check around each
lexicon word. :class:`FastVader` gives the same scores (tested against ``vaderSentiment`` on
real and generated sentences, float for float):

- a text holding none of the emoji lexicon's one-character entries (the only ones the
  character walk can replace) is left as it is; a text with one goes to ``polarity_scores``
  itself;
- the words are lowercased once, and a word neither in the lexicon nor a booster gets its
  valence 0 without the checks, as ``sentiment_valence`` gives it;
- around a lexicon word, ``sentiment_valence``'s checks (negation, boosters, idioms, "least")
  run as there, on the words lowercased once; "but" and the final scores are vaderSentiment's
  own functions.
"""

from __future__ import annotations

from typing import Any

from vaderSentiment import vaderSentiment as vs

_PUNCTUATION = vs.string.punctuation
_NEGATE = frozenset(vs.NEGATE)


class FastVader:
    """``analyser.polarity_scores`` (a ``SentimentIntensityAnalyzer``), the same dict of the same floats.

    Parameters
    ----------
    analyser : SentimentIntensityAnalyzer
        Whose lexicon and emojis are read (never changed).
    """

    def __init__(self, analyser: Any) -> None:
        self.analyser = analyser
        self.lexicon = analyser.lexicon
        # polarity_scores looks each character up: only one-character emoji entries can match
        self.emoji_chars = frozenset(e for e in analyser.emojis if len(e) == 1)

    def __getattr__(self, name: str) -> Any:
        """Everything else is the analyser's own (its emojis, its rules): a drop-in for it."""
        if name == "analyser":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.analyser, name)

    def polarity_scores(self, text: str) -> dict[str, float]:
        """``{"neg", "neu", "pos", "compound"}`` of ``text``, as ``SentimentIntensityAnalyzer.polarity_scores``."""
        if not isinstance(text, str) or (not text.isascii() and not self.emoji_chars.isdisjoint(text)):
            return self.analyser.polarity_scores(text)
        text = text.strip()
        words = [_strip_punctuation(w) for w in text.split()]
        lower = [w.lower() for w in words]
        is_cap_diff = vs.allcap_differential(words)
        lexicon, boosters = self.lexicon, vs.BOOSTER_DICT
        last = len(words) - 1
        sentiments: list[float] = []
        for i, low in enumerate(lower):
            if low in boosters or low not in lexicon or (low == "kind" and i < last and lower[i + 1] == "of"):
                sentiments.append(0)
            else:
                sentiments.append(self._valence(words, lower, i, is_cap_diff))
        if "but" in lower:
            sentiments = vs.SentimentIntensityAnalyzer._but_check(words, sentiments)
        return self.analyser.score_valence(sentiments, text)

    def _valence(self, words: list[str], lower: list[str], i: int, is_cap_diff: bool) -> float:
        """``sentiment_valence`` of the lexicon word ``words[i]`` (``lower``: the words lowercased)."""
        lexicon = self.lexicon
        item, low = words[i], lower[i]
        valence = lexicon[low]
        if low == "no" and i != len(words) - 1 and lower[i + 1] in lexicon:
            valence = 0.0
        if (i > 0 and lower[i - 1] == "no") or (i > 1 and lower[i - 2] == "no") \
                or (i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor")):
            valence = lexicon[low] * vs.N_SCALAR
        if item.isupper() and is_cap_diff:
            if valence > 0:
                valence += vs.C_INCR
            else:
                valence -= vs.C_INCR
        for start_i in range(0, 3):
            if i > start_i and lower[i - (start_i + 1)] not in lexicon:
                s = vs.scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lower, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lower, i)
        return _least_check(valence, lower, i, lexicon)


def _strip_punctuation(token: str) -> str:
    """``SentiText._strip_punc_if_word``."""
    stripped = token.strip(_PUNCTUATION)
    return token if len(stripped) <= 2 else stripped


def _negated(word: str) -> bool:
    """``vaderSentiment.negated([word])``."""
    word = word.lower()
    return word in _NEGATE or "n't" in word


def _negation_check(valence: float, lower: list[str], start_i: int, i: int) -> float:
    """``SentimentIntensityAnalyzer._negation_check`` on the words lowercased."""
    if start_i == 0:
        if _negated(lower[i - 1]):
            valence = valence * vs.N_SCALAR
    if start_i == 1:
        if lower[i - 2] == "never" and (lower[i - 1] == "so" or lower[i - 1] == "this"):
            valence = valence * 1.25
        elif lower[i - 2] == "without" and lower[i - 1] == "doubt":
            pass
        elif _negated(lower[i - 2]):
            valence = valence * vs.N_SCALAR
    if start_i == 2:
        if lower[i - 3] == "never" and (lower[i - 2] == "so" or lower[i - 2] == "this") or \
                (lower[i - 1] == "so" or lower[i - 1] == "this"):
            valence = valence * 1.25
        elif lower[i - 3] == "without" and (lower[i - 2] == "doubt" or lower[i - 1] == "doubt"):
            pass
        elif _negated(lower[i - 3]):
            valence = valence * vs.N_SCALAR
    return valence


def _special_idioms_check(valence: float, lower: list[str], i: int) -> float:
    """``SentimentIntensityAnalyzer._special_idioms_check`` on the words lowercased."""
    special, boosters = vs.SPECIAL_CASES, vs.BOOSTER_DICT
    onezero = f"{lower[i - 1]} {lower[i]}"
    twoonezero = f"{lower[i - 2]} {lower[i - 1]} {lower[i]}"
    twoone = f"{lower[i - 2]} {lower[i - 1]}"
    threetwoone = f"{lower[i - 3]} {lower[i - 2]} {lower[i - 1]}"
    threetwo = f"{lower[i - 3]} {lower[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in special:
            valence = special[seq]
            break
    if len(lower) - 1 > i:
        zeroone = f"{lower[i]} {lower[i + 1]}"
        if zeroone in special:
            valence = special[zeroone]
    if len(lower) - 1 > i + 1:
        zeroonetwo = f"{lower[i]} {lower[i + 1]} {lower[i + 2]}"
        if zeroonetwo in special:
            valence = special[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in boosters:
            valence = valence + boosters[n_gram]
    return valence


def _least_check(valence: float, lower: list[str], i: int, lexicon: dict[str, float]) -> float:
    """``SentimentIntensityAnalyzer._least_check`` on the words lowercased."""
    if i > 1 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
        if lower[i - 2] != "at" and lower[i - 2] != "very":
            valence = valence * vs.N_SCALAR
    elif i > 0 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
        valence = valence * vs.N_SCALAR
    return valence
