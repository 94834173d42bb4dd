"""The member's card (``loyalty.Membership``) lives in the core, which holds its balance; this app
holds the customer-side flows around it. Models of referrals arrive with their issue."""
