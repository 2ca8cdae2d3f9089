"""The rule expression language: grammar and formula trees."""
