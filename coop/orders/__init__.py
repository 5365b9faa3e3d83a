"""Campaigns, needs, pooling, purchase orders, receiving and the cost split."""
