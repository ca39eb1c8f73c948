// Qt Virtual Keyboard inside the set-up wizard's own window (ui/keyboard.py): the input panel alone,
// sized by the QQuickWidget that holds it.
import QtQuick
import QtQuick.VirtualKeyboard

InputPanel {
}
