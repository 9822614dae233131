"""Running the platform as a service: availability, incidents, maintenance, the monthly report."""
