"""Monthly client statements: content per account and month, PDF/CSV rendering, storage, job and e-mail."""
