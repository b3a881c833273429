// The bell on pages other than the editor (the editor's bundle binds its own).

import { bindBell } from './bell.js'

bindBell(document.getElementById('notifications'))
