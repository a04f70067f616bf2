"""Use cases: async functions taking an AsyncSession; they never commit and never see a request."""
