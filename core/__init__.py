"""prunescope core: dataset-pruning metrics as a pure numpy / scikit-learn / torch / faiss library.

Every score is oriented so that higher = harder (atypical, far from its prototype).
"""

__version__ = "0.1.0"
