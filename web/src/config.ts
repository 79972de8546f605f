// Where the API is: window.VIDZO_CONFIG.apiUrl (public/config.js, edited per deploy), else
// VITE_API_URL from the build, else this page's own origin (vidzo serving the app itself).
declare global { interface Window { VIDZO_CONFIG?: { apiUrl?: string } } }

export const API_URL: string = (window.VIDZO_CONFIG?.apiUrl || import.meta.env.VITE_API_URL || '').replace(/\/+$/, '');
/** Socket.IO: same origin as the API. */
export const SOCKET_URL: string = API_URL || window.location.origin;
