"""The activity log (journal d'activité): who did what, when, to which object."""
