"""Loopback fakes of remote services, driven through their real client libraries."""
