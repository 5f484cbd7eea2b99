/**
 * The API key the operator signed in with: in sessionStorage, so it lasts for the tab's session
 * and is gone when the tab closes; never in localStorage, a cookie or the URL.
 */
const STORAGE_KEY = 'delay-tasks.apiKey';

export function readApiKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the key cannot be kept, the service will ask again
  }
}

export function storeApiKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetApiKey(): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing kept
  }
}
