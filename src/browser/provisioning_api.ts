/** The shim a primary IdP's provisioning page loads from us: navigator.id.beginProvisioning and friends. */
export {};
