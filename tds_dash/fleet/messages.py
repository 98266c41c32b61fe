"""Texts of the fleet writes' outcomes (tds_dash.fleet.actions), in Portuguese and English.

fleet.forbidden, .conflict, .missing and .fix_fields are also in fleet/components.py with identical text
(i18n refuses a key defined differently): the API and the CLI reach these outcomes without the pages.
"""
from __future__ import annotations

from tds_dash import i18n

i18n.add_messages({
    "fleet.forbidden": {"pt-BR": "Seu perfil não permite esta alteração.", "en": "Your role does not allow this change."},
    "fleet.conflict": {
        "pt-BR": "Outra pessoa alterou este registro enquanto você editava. Suas alterações não foram salvas: "
                 "feche o formulário e abra-o de novo para ver a versão atual.",
        "en": "Someone else changed this record while you were editing. Your changes were not saved: "
              "close the form and open it again to see the current version."},
    "fleet.missing": {"pt-BR": "Este registro não existe mais (foi excluído?).",
                      "en": "This record no longer exists (was it deleted?)."},
    "fleet.fix_fields": {"pt-BR": "Corrija os campos destacados.", "en": "Please fix the highlighted fields."},
    "fleet.saved": {"pt-BR": "{what} {name} salvo.", "en": "{what} {name} saved."},
    "fleet.deleted": {"pt-BR": "{what} {name} excluído.", "en": "{what} {name} deleted."},
    "fleet.purged": {"pt-BR": "Dispositivo {name} excluído com {count} leituras e seus agregados.",
                     "en": "Device {name} deleted with {count} readings and their rollups."},
    "fleet.activated": {"pt-BR": "{what} {name} ativado.", "en": "{what} {name} activated."},
    "fleet.deactivated": {"pt-BR": "{what} {name} desativado.", "en": "{what} {name} deactivated."},
    "fleet.provisioning_on": {"pt-BR": "Criação automática ligada.", "en": "Automatic creation on."},
    "fleet.provisioning_off": {"pt-BR": "Criação automática desligada: códigos desconhecidos serão rejeitados.",
                               "en": "Automatic creation off: unknown codes will be rejected."},
    "fleet.what.gateway": {"pt-BR": "Gateway", "en": "Gateway"},
    "fleet.what.device": {"pt-BR": "Dispositivo", "en": "Device"},
    "fleet.gateway_has_readings": {
        "pt-BR": "O gateway {name} tem {count} dispositivo(s) com leituras: desative-o, ou exclua antes os "
                 "dispositivos definitivamente.",
        "en": "Gateway {name} has {count} device(s) with readings: deactivate it, or purge those devices first."},
    "fleet.ask.delete.gateway": {"pt-BR": "Excluir o gateway {name} e seus dispositivos sem leituras? Isto não pode "
                                          "ser desfeito.",
                                 "en": "Delete gateway {name} and its devices without readings? This cannot be undone."},
    "fleet.ask.deactivate.gateway": {"pt-BR": "Desativar o gateway {name}? As mensagens dele passarão a ser "
                                              "rejeitadas (inactive_gateway) até que seja reativado.",
                                     "en": "Deactivate gateway {name}? Its messages will be rejected "
                                           "(inactive_gateway) until it is activated again."},
    "fleet.ask.activate.gateway": {"pt-BR": "Ativar o gateway {name}?", "en": "Activate gateway {name}?"},
    "fleet.ask.delete.device": {"pt-BR": "Excluir o dispositivo {name}? Ele não tem leituras.",
                                "en": "Delete device {name}? It has no readings."},
    "fleet.ask.delete.device_readings": {
        "pt-BR": "O dispositivo {name} tem {count} leituras: ele será desativado, não excluído, e as leituras "
                 "ficam. Para apagar tudo, marque a opção abaixo.",
        "en": "Device {name} has {count} readings: it will be deactivated, not deleted, and the readings kept. "
              "To erase everything, tick the option below."},
    "fleet.ask.deactivate.device": {"pt-BR": "Desativar o dispositivo {name}? As leituras dele deixarão de ser "
                                             "armazenadas (inactive_device).",
                                    "en": "Deactivate device {name}? Its readings will no longer be stored "
                                          "(inactive_device)."},
    "fleet.ask.activate.device": {"pt-BR": "Ativar o dispositivo {name}?", "en": "Activate device {name}?"},
})
