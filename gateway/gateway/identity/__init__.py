"""Who uses the mall: citizens, staff and partners; their sign-in, sessions and one-time codes."""
