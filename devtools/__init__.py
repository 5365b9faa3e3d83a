"""Development tools: the local Stripe fake. Production code never imports this package."""
