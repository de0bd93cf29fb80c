"""The kernel every app may use. It imports no app (marketdata, portfolios, pensions) and
nothing of the shell around it (the rest of financedash): `make lint` checks it."""
