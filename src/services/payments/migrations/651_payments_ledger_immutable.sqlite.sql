-- Owner: payments. Tables: ledger_entries, ledger_txns (triggers).
-- Ledger rows are immutable: the database refuses UPDATE and DELETE, whoever asks.
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries BEGIN
  SELECT RAISE(ABORT, 'ledger entries are immutable');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries BEGIN
  SELECT RAISE(ABORT, 'ledger entries are immutable');
END;
CREATE TRIGGER ledger_txns_no_update BEFORE UPDATE ON ledger_txns BEGIN
  SELECT RAISE(ABORT, 'ledger transactions are immutable');
END;
CREATE TRIGGER ledger_txns_no_delete BEFORE DELETE ON ledger_txns BEGIN
  SELECT RAISE(ABORT, 'ledger transactions are immutable');
END;
