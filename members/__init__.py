"""The customer side: enrolment, the public shop page, the member portal (and later referrals)."""
