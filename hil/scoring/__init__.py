"""Scoring a board: stream windows (runner), compare with references (compare), gates, reports."""
