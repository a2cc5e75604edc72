"""Reports: the numbers a shop owner runs the business on."""
