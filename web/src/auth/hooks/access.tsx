import { createContext, useCallback, useContext, type ReactNode } from 'react';
import { loginUrl } from '../../common/api/project-paths.ts';
import { can as canDo, type Capabilities, type ProjectSummary, type Session, type UiAction } from '../utils/capabilities.ts';

/** What the signed-in user is and may do in the page's project; provided by the Layout once loaded. */
export interface Access {
  session: Session;
  capabilities: Capabilities;
  /** Projects the user can open (for the switcher); empty when the list could not be loaded. */
  projects: ProjectSummary[];
  /** The page's project (`default` for bare URLs). */
  project: string;
}

const AccessContext = createContext<Access | undefined>(undefined);

export function AccessProvider({ value, children }: { value: Access | undefined; children: ReactNode }) {
  return <AccessContext.Provider value={value}>{children}</AccessContext.Provider>;
}

export function useAccess(): Access | undefined {
  return useContext(AccessContext);
}

/** `can('promote')`: whether to offer an action in the page's project (hidden until the server said yes). */
export function useCan(): (action: UiAction) => boolean {
  const access = useContext(AccessContext);
  const capabilities = access?.capabilities;
  return useCallback((action: UiAction) => canDo(capabilities, action), [capabilities]);
}

let redirecting = false;

/** Leaves for the login page, coming back to the current page after signing in. */
export function redirectToLogin(): void {
  if (redirecting || window.location.pathname === '/login') return;
  redirecting = true;
  const here = window.location.pathname + window.location.search + window.location.hash;
  window.location.assign(loginUrl(here));
}
