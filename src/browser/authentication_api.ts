/** The shim a primary IdP's authentication page loads from us: navigator.id.beginAuthentication and friends. */
export {};
