-- Issue 11, cost per answer: the sums a credit checks read one index range and no table row.
--
-- Every reward checks its batch's escrow against the floor (SUM(amount) over the escrow's
-- entries, which grows with the batch's answers) and the worker's month against the cap
-- (SUM(amount) over their rewards and bonuses of the month). Both indexes held the rows'
-- positions but not the amounts, so each past leg was a lookup into the table: late in a
-- crowd bench the escrow's sum alone was a quarter of the bot's CPU per answer. The same
-- indexes, now ending with the amount (nothing else reads them differently), answer the sums
-- from the index alone. Still one index entry read per past leg of the account.
DROP INDEX entries_account;
CREATE INDEX entries_account ON entries (account, transfer_id, amount);
DROP INDEX transfers_credit_month;
CREATE INDEX transfers_credit_month ON transfers (credit_account, month, kind, amount);
