/** The scope an access token needs for the admin API; only a client registered with it may obtain it. */
export const ADMIN_SCOPE = 'nordlys:admin';
