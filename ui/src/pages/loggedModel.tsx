//! TEMPORARY scaffold: replaced by the page's real implementation.
import { useTitle } from '../lib/title';

export default function Page() {
  useTitle('loggedModel');
  return <h1>loggedModel</h1>;
}
