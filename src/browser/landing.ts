/** The email landing pages (/verify_email_address, /confirm, /reset_password, /complete_transition). */
export {};
