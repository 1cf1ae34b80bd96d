"""The two sentiment labels: their names (label 1 = positive) and the words accepted for them."""

LABEL_NAMES = ("negative", "positive")

# Label values a data file may use, lower-cased: numbers, booleans, names and their short forms.
LABEL_WORDS = {
    "0": 0, "1": 1, "0.0": 0, "1.0": 1,
    LABEL_NAMES[0]: 0, LABEL_NAMES[1]: 1, "neg": 0, "pos": 1,
    "false": 0, "true": 1,
}
