//! TEMPORARY scaffold: replaced by the page's real implementation.
import { useTitle } from '../lib/title';

export default function Page() {
  useTitle('prompts');
  return <h1>prompts</h1>;
}
