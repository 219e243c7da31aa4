-- A line whose input count, read as including cache, is smaller than its cache tokens:
-- billed with zero uncached input and listed by `inferledger prices check`.
ALTER TABLE cost_lines ADD COLUMN negative_uncached BOOLEAN DEFAULT false;
