"""What an operator or visitor sees and touches: kiosk, web control panel, campaign layer."""
