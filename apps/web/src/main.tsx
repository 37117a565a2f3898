import { render } from 'preact';
import { ParleyClient } from '@parley/client';

const client = new ParleyClient({});
render(<p>{String(client.user)}</p>, document.getElementById('app')!);
