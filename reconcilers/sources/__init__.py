"""Where the reconcilers' data comes from: the wallet through the contract views
(``wallet``), PSP settlement reports (``psp_reports``) and affiliate conversion exports
(``affiliate_export``); each returns frames conformed to ``reconcilers.frames``. The two file
sources share the strict CSV reading of ``strict_csv`` and the SQL of ``sql``.
"""
