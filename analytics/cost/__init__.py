"""Cost: pricing, cost lines, GPU allocation, budgets, showback."""
