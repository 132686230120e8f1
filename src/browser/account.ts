/** The account page (/). */
export {};
