//! Entry point: global styles, theme, and the app mounted on #app.
import { render } from 'preact';
import './styles/base.css';
import './lib/theme';
import { App } from './app';

const root = document.getElementById('app');
if (root) render(<App />, root);
