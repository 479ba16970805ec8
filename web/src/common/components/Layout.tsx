import { useState } from 'react';
import { NavLink, Outlet } from 'react-router';
import { ClientSnippet } from './ClientSnippet.tsx';
import { Modal } from './ui.tsx';

export function Layout() {
  const [showSnippet, setShowSnippet] = useState(false);
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="Trove home">
          <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
            <rect width="32" height="32" rx="6" fill="#1f5fa8" />
            <path d="M7 22l6-8 5 5 7-10" stroke="#fff" strokeWidth="3" fill="none" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
          Trove
        </NavLink>
        <nav aria-label="Main">
          <NavLink to="/experiments">Experiments</NavLink>
          <NavLink to="/models">Models</NavLink>
        </nav>
        <button type="button" className="btn btn-small connect" onClick={() => setShowSnippet(true)}>
          Connect MLflow client
        </button>
      </header>
      <main id="main" className="content">
        <Outlet />
      </main>
      {showSnippet && (
        <Modal title="Connect the MLflow client" onClose={() => setShowSnippet(false)}>
          <ClientSnippet />
        </Modal>
      )}
    </div>
  );
}

export function NotFoundPage() {
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. Go to <NavLink to="/experiments">the experiments</NavLink> or <NavLink to="/models">the model registry</NavLink>.
      </p>
    </div>
  );
}
