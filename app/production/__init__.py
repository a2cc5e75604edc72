"""The florists' workshop: one production task per order line that needs assembly."""
