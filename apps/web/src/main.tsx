// Entry point: find the services, restore the session, render.
import { render } from 'preact';
import { createAppSession } from './state/app-session';
import { loadServiceUrls } from './service-urls';
import { App } from './ui/app';
import './styles.css';

const root = document.getElementById('app');
if (root !== null) {
  const urls = await loadServiceUrls();
  const session = createAppSession(urls, window.sessionStorage);
  render(<App session={session} />, root);
}
