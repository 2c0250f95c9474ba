"""Helpers the test suite shares: real local servers instead of mocks."""
