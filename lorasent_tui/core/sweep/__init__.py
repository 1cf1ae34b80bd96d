"""Hyperparameter sweeps and run queues on Optuna: every trial is an ordinary run.

space.py reads the TOML search space; study.py opens a study and runs its trials;
storage.py says where the study lives; leaderboard.py ranks trials; parallel.py runs several
sweep processes at once; events.py is what a sweep reports.
"""
