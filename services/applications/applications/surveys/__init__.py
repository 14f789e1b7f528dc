"""Surveys: their own aggregate in the applications service (api -> service -> store)."""
