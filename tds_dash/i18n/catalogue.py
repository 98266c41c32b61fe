"""The one message catalogue: every visible string, in Brazilian Portuguese and English, by key.

Keys are grouped by the concern that shows them (the comment names its module). A test checks that
every key has both languages and that every key used in the code exists here.
"""

MESSAGES: dict[str, dict[str, str]] = {}

# shared: navigation, filters, overview
MESSAGES.update({
    "nav.overview": {"pt-BR": "Visão geral", "en": "Overview"},
    "overview.title": {"pt-BR": "Visão geral da frota", "en": "Fleet overview"},
    "filter.account": {"pt-BR": "Conta", "en": "Account"},
    "filter.gateway": {"pt-BR": "Gateway", "en": "Gateway"},
    "filter.metric": {"pt-BR": "Grandeza", "en": "Quantity"},
    "filter.all": {"pt-BR": "Todas", "en": "All"},
    "filter.all_gateways": {"pt-BR": "Todos", "en": "All"},
    "refresh.pause": {"pt-BR": "Pausar atualização", "en": "Pause refresh"},
    "refresh.updated": {"pt-BR": "Atualizado em {when}", "en": "Updated at {when}"},
    "refresh.paused": {"pt-BR": "Atualização pausada", "en": "Refresh paused"},
    "card.gateways": {"pt-BR": "Gateways online", "en": "Gateways online"},
    "card.devices": {"pt-BR": "Dispositivos", "en": "Devices"},
    "card.readings_24h": {"pt-BR": "Leituras (24 h)", "en": "Readings (24 h)"},
    "card.month": {"pt-BR": "Consumo no mês", "en": "Consumption this month"},
    "card.vs_last_month": {"pt-BR": "{change} vs. mesmo período do mês anterior ({previous})",
                           "en": "{change} vs. same period last month ({previous})"},
    "card.no_previous": {"pt-BR": "sem dados do mês anterior", "en": "no data for last month"},
    "card.cost": {"pt-BR": "Custo no mês", "en": "Cost this month"},
    "card.cost_vs_last_month": {"pt-BR": "{change} vs. mesmo período do mês anterior ({previous})",
                                "en": "{change} vs. same period last month ({previous})"},
    "chart.monthly": {"pt-BR": "Consumo mensal — últimos 13 meses", "en": "Monthly consumption — last 13 months"},
    "chart.daily": {"pt-BR": "Consumo diário — mês atual", "en": "Daily consumption — this month"},
    "chart.empty": {"pt-BR": "Sem dados no período", "en": "No data in this period"},
    "table.latest": {"pt-BR": "Últimas 50 leituras", "en": "Latest 50 readings"},
    "col.time": {"pt-BR": "Data/hora", "en": "Time"},
    "col.gateway": {"pt-BR": "Gateway", "en": "Gateway"},
    "col.device": {"pt-BR": "Dispositivo", "en": "Device"},
    "col.metric": {"pt-BR": "Grandeza", "en": "Quantity"},
    "col.value": {"pt-BR": "Valor", "en": "Value"},
    "metric.energy_kwh": {"pt-BR": "Energia ativa (kWh)", "en": "Active energy (kWh)"},
    "metric.power_kw": {"pt-BR": "Potência ativa (kW)", "en": "Active power (kW)"},
    "metric.temperature_c": {"pt-BR": "Temperatura (°C)", "en": "Temperature (°C)"},
    "metric.water_m3": {"pt-BR": "Água (m³)", "en": "Water (m³)"},
    "metric.gas_m3": {"pt-BR": "Gás (m³)", "en": "Gas (m³)"},
    "error.load": {"pt-BR": "Não foi possível carregar os dados: {error}", "en": "Could not load data: {error}"},
    "history.loading": {"pt-BR": "Histórico em carga ({percent} %): os meses anteriores ainda estão incompletos.",
                        "en": "History loading ({percent} %): earlier months are not complete yet."},
})

# dcc.Dropdown's own texts (tds_dash.i18n.dropdown_labels)
MESSAGES.update({
    "dropdown.select_all": {"pt-BR": "Selecionar todos", "en": "Select all"},
    "dropdown.deselect_all": {"pt-BR": "Desmarcar todos", "en": "Deselect all"},
    "dropdown.selected_count": {"pt-BR": "{num_selected} selecionados", "en": "{num_selected} selected"},
    "dropdown.search": {"pt-BR": "Buscar", "en": "Search"},
    "dropdown.clear_search": {"pt-BR": "Limpar busca", "en": "Clear search"},
    "dropdown.clear_selection": {"pt-BR": "Limpar seleção", "en": "Clear selection"},
    "dates.start": {"pt-BR": "Data inicial", "en": "Start date"},
    "dates.end": {"pt-BR": "Data final", "en": "End date"},
    "dropdown.no_options_found": {"pt-BR": "Nenhuma opção encontrada", "en": "No options found"},
})

# pages/rejected.py
MESSAGES.update({
    "reason.invalid_topic": {"pt-BR": "tópico inválido", "en": "invalid topic"},
    "reason.payload_too_large": {"pt-BR": "mensagem grande demais", "en": "payload too large"},
    "reason.invalid_encoding": {"pt-BR": "codificação inválida", "en": "invalid encoding"},
    "reason.invalid_json": {"pt-BR": "JSON inválido", "en": "invalid JSON"},
    "reason.invalid_schema": {"pt-BR": "formato inválido", "en": "invalid schema"},
    "reason.unsupported_version": {"pt-BR": "versão não suportada", "en": "unsupported version"},
    "reason.invalid_timestamp": {"pt-BR": "data/hora inválida", "en": "invalid timestamp"},
    "reason.future_timestamp": {"pt-BR": "data/hora no futuro", "en": "timestamp in the future"},
    "reason.too_many_readings": {"pt-BR": "leituras demais", "en": "too many readings"},
    "reason.invalid_device": {"pt-BR": "dispositivo inválido", "en": "invalid device"},
    "reason.invalid_metric": {"pt-BR": "grandeza inválida", "en": "invalid quantity"},
    "reason.invalid_value": {"pt-BR": "valor inválido", "en": "invalid value"},
    "reason.non_finite_value": {"pt-BR": "valor não finito", "en": "non-finite value"},
    "reason.unknown_gateway": {"pt-BR": "gateway desconhecido", "en": "unknown gateway"},
    "reason.account_mismatch": {"pt-BR": "conta não confere", "en": "account mismatch"},
    "reason.inactive_gateway": {"pt-BR": "gateway inativo", "en": "inactive gateway"},
    "reason.too_late": {"pt-BR": "chegou tarde demais", "en": "arrived too late"},
    "reason.inactive_device": {"pt-BR": "dispositivo inativo", "en": "inactive device"},
    "reason.unknown_device": {"pt-BR": "dispositivo desconhecido", "en": "unknown device"},
    "reason.store_error": {"pt-BR": "erro ao gravar", "en": "storage error"},
    "reason.parse_error": {"pt-BR": "erro de leitura", "en": "parse error"},
    "reason.mostly": {"pt-BR": "principalmente {reason}", "en": "mostly {reason}"},
    "nav.rejected": {"pt-BR": "Rejeitadas", "en": "Rejected"},
    "rejected.title": {"pt-BR": "Mensagens rejeitadas", "en": "Rejected messages"},
    "rejected.note": {"pt-BR": "As 200 mais recentes. Guardadas por {days} dias, no máximo {rows} linhas.",
                      "en": "The newest 200. Kept for {days} days, {rows} rows at most."},
    "rejected.reason": {"pt-BR": "Motivo", "en": "Reason"},
    "rejected.gateway": {"pt-BR": "Serial do gateway", "en": "Gateway serial"},
    "rejected.col.topic": {"pt-BR": "Tópico", "en": "Topic"},
    "rejected.col.detail": {"pt-BR": "Detalhe", "en": "Detail"},
    "rejected.col.counts": {"pt-BR": "Leituras recusadas / aceitas", "en": "Readings refused / kept"},
    "rejected.col.size": {"pt-BR": "Bytes", "en": "Bytes"},
    "rejected.col.excerpt": {"pt-BR": "Início do conteúdo", "en": "Payload start"},
})

# tds_dash/auth/admin_rows.py
MESSAGES.update({
    "nav.admin": {"pt-BR": "Administração", "en": "Admin"},
    "nav.tokens": {"pt-BR": "Tokens de API", "en": "API tokens"},
    "admin.title": {"pt-BR": "Usuários e contas", "en": "Users and accounts"},
    "admin.forbidden": {"pt-BR": "Acesso restrito a administradores.", "en": "Administrators only."},
    "admin.username": {"pt-BR": "Usuário", "en": "Username"},
    "admin.name": {"pt-BR": "Nome", "en": "Name"},
    "admin.role": {"pt-BR": "Papel", "en": "Role"},
    "admin.accounts": {"pt-BR": "Contas", "en": "Accounts"},
    "admin.password": {"pt-BR": "Senha (mín. 10)", "en": "Password (min. 10)"},
    "admin.active": {"pt-BR": "Ativo", "en": "Active"},
    "admin.create": {"pt-BR": "Criar usuário", "en": "Create user"},
    "admin.update": {"pt-BR": "Salvar selecionado", "en": "Save selected"},
    "admin.reset": {"pt-BR": "Redefinir senha", "en": "Reset password"},
    "admin.created": {"pt-BR": "Usuário criado.", "en": "User created."},
    "admin.saved": {"pt-BR": "Alterações salvas.", "en": "Changes saved."},
    "admin.select": {"pt-BR": "Selecione um usuário na tabela.", "en": "Select a user in the table."},
    "admin.audit": {"pt-BR": "Registro de auditoria", "en": "Audit log"},
    "tokens.title": {"pt-BR": "Meus tokens de API", "en": "My API tokens"},
    "tokens.name": {"pt-BR": "Nome do token", "en": "Token name"},
    "tokens.create": {"pt-BR": "Criar token", "en": "Create token"},
    "tokens.revoke": {"pt-BR": "Revogar selecionado", "en": "Revoke selected"},
    "tokens.shown_once": {"pt-BR": "Copie agora; ele não será mostrado de novo:",
                          "en": "Copy it now; it will not be shown again:"},
    "tokens.revoked": {"pt-BR": "Token revogado.", "en": "Token revoked."},
    "admin.col.username": {"pt-BR": "Usuário", "en": "Username"},
    "admin.col.name": {"pt-BR": "Nome", "en": "Name"},
    "admin.col.role": {"pt-BR": "Papel", "en": "Role"},
    "admin.col.accounts": {"pt-BR": "Contas", "en": "Accounts"},
    "admin.col.active": {"pt-BR": "Ativo", "en": "Active"},
    "admin.col.at": {"pt-BR": "Quando", "en": "When"},
    "admin.col.action": {"pt-BR": "Ação", "en": "Action"},
    "admin.col.entity": {"pt-BR": "Objeto", "en": "Object"},
    "admin.col.entity_id": {"pt-BR": "ID do objeto", "en": "Object ID"},
    "admin.col.change": {"pt-BR": "Alteração", "en": "Change"},
    "tokens.col.name": {"pt-BR": "Nome", "en": "Name"},
    "tokens.col.prefix": {"pt-BR": "Início do token", "en": "Token start"},
    "tokens.col.created": {"pt-BR": "Criado em", "en": "Created"},
    "tokens.col.last_used": {"pt-BR": "Último uso", "en": "Last used"},
    "tokens.col.revoked": {"pt-BR": "Revogado em", "en": "Revoked"},
    "users.error.username": {"pt-BR": "Usuário: 3 a 64 caracteres, letras minúsculas, dígitos, . _ @ -",
                             "en": "Username: 3-64 characters, lowercase letters, digits, . _ @ -"},
    "users.error.password": {"pt-BR": "Senha: pelo menos {minimum} caracteres",
                             "en": "Password: at least {minimum} characters"},
    "users.error.role": {"pt-BR": "O papel deve ser um de: {roles}", "en": "Role must be one of: {roles}"},
    "users.error.accounts": {"pt-BR": "Conta(s) desconhecida(s): {accounts}", "en": "Unknown account(s): {accounts}"},
    "users.error.taken": {"pt-BR": "O usuário \"{username}\" já existe", "en": "Username \"{username}\" is taken"},
    "users.error.not_found": {"pt-BR": "Usuário não encontrado", "en": "User not found"},
    "users.error.self": {"pt-BR": "Você não pode rebaixar nem desativar a si mesmo",
                         "en": "You cannot demote or disable yourself"},
    "tokens.error.name": {"pt-BR": "Nome do token: 1 a 64 caracteres", "en": "Token name: 1-64 characters"},
    "tokens.error.not_found": {"pt-BR": "Token não encontrado ou já revogado", "en": "Token not found or already revoked"},
})

# tds_dash/auth/routes.py
MESSAGES.update({
    "login.title": {"pt-BR": "Entrar", "en": "Sign in"},
    "login.username": {"pt-BR": "Usuário", "en": "Username"},
    "login.password": {"pt-BR": "Senha", "en": "Password"},
    "login.submit": {"pt-BR": "Entrar", "en": "Sign in"},
    "login.invalid": {"pt-BR": "Usuário ou senha inválidos.", "en": "Invalid username or password."},
    "login.throttled": {"pt-BR": "Muitas tentativas. Tente novamente em {seconds} s.",
                        "en": "Too many attempts. Try again in {seconds} s."},
    "login.expired": {"pt-BR": "O formulário expirou; tente de novo.", "en": "The form expired; please try again."},
    "nav.logout": {"pt-BR": "Sair", "en": "Sign out"},
    "nav.theme.dark": {"pt-BR": "Tema escuro", "en": "Dark theme"},
    "nav.theme.light": {"pt-BR": "Tema claro", "en": "Light theme"},
    "nav.logout_everywhere": {"pt-BR": "Sair de todas as sessões", "en": "Sign out everywhere"},
    "logout.expired": {"pt-BR": "O formulário expirou; recarregue a página e saia de novo.",
                       "en": "The form expired; reload the page and sign out again."},
})

# tds_dash/consumption/device.py
MESSAGES.update({
    "device.title": {"pt-BR": "Dispositivo {code}", "en": "Device {code}"},
    "device.not_found": {"pt-BR": "Dispositivo não encontrado.", "en": "Device not found."},
    "device.page_title": {"pt-BR": "Dispositivo", "en": "Device"},
    "gateway.page_title": {"pt-BR": "Gateway {serial}", "en": "Gateway {serial}"},
    "notfound.page_title": {"pt-BR": "Página não encontrada", "en": "Page not found"},
    "notfound.title": {"pt-BR": "Página não encontrada", "en": "Page not found"},
    "notfound.text": {"pt-BR": "O endereço não existe ou foi movido. Confira o link ou volte ao início.",
                      "en": "This address does not exist or has moved. Check the link or go back to the start."},
    "notfound.home": {"pt-BR": "Ir para a visão geral", "en": "Go to the overview"},
    "device.back": {"pt-BR": "Voltar ao explorador", "en": "Back to the explorer"},
    "device.online": {"pt-BR": "Online", "en": "Online"},
    "device.offline": {"pt-BR": "Offline", "en": "Offline"},
    "device.last_seen": {"pt-BR": "Última leitura: {when}", "en": "Last reading: {when}"},
    "device.never": {"pt-BR": "nenhuma leitura ainda", "en": "no reading yet"},
    "device.where": {"pt-BR": "Gateway {gateway} · conta {account}", "en": "Gateway {gateway} · account {account}"},
    "device.raw_note": {"pt-BR": "Leituras brutas (período de até 2 dias)",
                        "en": "Raw readings (range of up to 2 days)"},
    "device.band_note": {"pt-BR": "Mín./méd./máx. por {unit_name}, dos agregados",
                         "en": "Min/avg/max per {unit_name}, from the rollups"},
    "device.consumption": {"pt-BR": "Consumo por {unit_name}", "en": "Consumption per {unit_name}"},
    "device.no_metrics": {"pt-BR": "Sem dados no período.", "en": "No data in this period."},
})

# tds_dash/consumption/explorer/figures.py
MESSAGES.update({
    "device.value": {"pt-BR": "Leitura", "en": "Reading"},
    "device.band": {"pt-BR": "Mín.–máx.", "en": "Min–max"},
    "device.corrections": {"pt-BR": "Correções do medidor", "en": "Meter corrections"},
    "correction.glitch": {"pt-BR": "Falha momentânea (ignorada)", "en": "Glitch (ignored)"},
    "correction.reset": {"pt-BR": "Reinício do medidor", "en": "Meter reset"},
    "correction.rollover": {"pt-BR": "Volta do contador", "en": "Counter rollover"},
    "correction.provisional": {"pt-BR": "Queda provisória", "en": "Provisional drop"},
})

# tds_dash/consumption/explorer/model.py
MESSAGES.update({
    "nav.explorer": {"pt-BR": "Explorador de consumo", "en": "Consumption explorer"},
    "explorer.title": {"pt-BR": "Explorador de consumo", "en": "Consumption explorer"},
    "explorer.help": {
        "pt-BR": "O aumento entre duas leituras consecutivas de um medidor é contado na hora, no dia e no mês "
                 "(no fuso {zone}) que contêm a leitura mais recente; uma leitura exatamente à meia-noite "
                 "pertence ao dia que começa nela. Barras empilhadas mostram os {top} maiores dispositivos; "
                 "os demais são somados em \"outros\". Mín./méd./máx. são do consumo por barra "
                 "(hora, dia ou mês).",
        "en": "The increase between two consecutive readings of a meter is counted in the hour, day and month "
              "(in the {zone} zone) that contain the later reading; a reading exactly at midnight belongs to "
              "the day that starts then. Stacked bars show the {top} largest devices; the rest are summed as "
              "\"others\". Min/avg/max are of the consumption per bar (hour, day or month)."},
    "filter.device": {"pt-BR": "Dispositivo", "en": "Device"},
    "filter.all_devices": {"pt-BR": "Todos", "en": "All"},
    "explorer.period": {"pt-BR": "Período", "en": "Period"},
    "preset.today": {"pt-BR": "Hoje", "en": "Today"},
    "preset.last_7_days": {"pt-BR": "Últimos 7 dias", "en": "Last 7 days"},
    "preset.this_month": {"pt-BR": "Este mês", "en": "This month"},
    "preset.last_month": {"pt-BR": "Mês passado", "en": "Last month"},
    "preset.last_12_months": {"pt-BR": "Últimos 12 meses", "en": "Last 12 months"},
    "preset.custom": {"pt-BR": "Personalizado", "en": "Custom"},
    "explorer.granularity": {"pt-BR": "Granularidade", "en": "Granularity"},
    "granularity.auto": {"pt-BR": "Automática", "en": "Automatic"},
    "granularity.hour": {"pt-BR": "Hora", "en": "Hour"},
    "granularity.day": {"pt-BR": "Dia", "en": "Day"},
    "granularity.month": {"pt-BR": "Mês", "en": "Month"},
    "explorer.granularity_used": {"pt-BR": "Mostrando por {unit_name}", "en": "Showing per {unit_name}"},
    "explorer.coarsened": {"pt-BR": " (período longo demais para a granularidade escolhida)",
                           "en": " (range too long for the chosen granularity)"},
    "explorer.mode": {"pt-BR": "Gráfico", "en": "Chart"},
    "mode.bars": {"pt-BR": "Barras por dispositivo", "en": "Bars by device"},
    "mode.line": {"pt-BR": "Linha do total", "en": "Total line"},
    "explorer.compare": {"pt-BR": "Comparar com o período anterior", "en": "Compare with the previous period"},
    "explorer.download_csv": {"pt-BR": "Baixar CSV", "en": "Download CSV"},
    "explorer.download_xlsx": {"pt-BR": "Baixar Excel", "en": "Download Excel"},
    "explorer.change": {"pt-BR": "{current} vs. {previous} no mesmo tempo decorrido do período anterior ({change})",
                        "en": "{current} vs. {previous} over the same elapsed time of the previous period ({change})"},
    "explorer.no_previous": {"pt-BR": "{current} · sem dados no período anterior",
                             "en": "{current} · no data in the previous period"},
    "explorer.total_text": {"pt-BR": "Total no período: {total}", "en": "Total in the period: {total}"},
    "explorer.totals": {"pt-BR": "Totais por dispositivo", "en": "Totals per device"},
    "explorer.col.consumption": {"pt-BR": "Consumo", "en": "Consumption"},
    "explorer.col.share": {"pt-BR": "Participação", "en": "Share"},
    "explorer.col.min": {"pt-BR": "Mín.", "en": "Min"},
    "explorer.col.avg": {"pt-BR": "Méd.", "en": "Avg"},
    "explorer.col.max": {"pt-BR": "Máx.", "en": "Max"},
    "explorer.others": {"pt-BR": "Outros", "en": "Others"},
    "explorer.total": {"pt-BR": "Total", "en": "Total"},
    "explorer.previous": {"pt-BR": "Período anterior", "en": "Previous period"},
    "explorer.error.range": {"pt-BR": "Período inválido: {error}", "en": "Invalid range: {error}"},
})

# tds_dash/fleet/actions.py
MESSAGES.update({
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

# tds_dash/fleet/components.py
MESSAGES.update({
    "fleet.search": {"pt-BR": "Buscar", "en": "Search"},
    "fleet.status": {"pt-BR": "Status", "en": "Status"},
    "fleet.all": {"pt-BR": "Todos", "en": "All"},
    "fleet.total": {"pt-BR": "{count} encontrados", "en": "{count} found"},
    "fleet.actions": {"pt-BR": "Ações", "en": "Actions"},
    "fleet.edit": {"pt-BR": "Editar", "en": "Edit"},
    "fleet.delete": {"pt-BR": "Excluir", "en": "Delete"},
    "fleet.deactivate": {"pt-BR": "Desativar", "en": "Deactivate"},
    "fleet.activate": {"pt-BR": "Ativar", "en": "Activate"},
    "fleet.save": {"pt-BR": "Salvar", "en": "Save"},
    "fleet.cancel": {"pt-BR": "Cancelar", "en": "Cancel"},
    "fleet.confirm": {"pt-BR": "Confirmar", "en": "Confirm"},
    "fleet.confirm_title": {"pt-BR": "Confirme", "en": "Please confirm"},
    "fleet.active": {"pt-BR": "Ativo", "en": "Active"},
    "fleet.empty": {"pt-BR": "Nada encontrado com estes filtros.", "en": "Nothing matches these filters."},
    "fleet.forbidden": {"pt-BR": "Seu perfil não permite esta alteração.", "en": "Your role does not allow this change."},
    "fleet.conflict": {
        "pt-BR": "Outra pessoa alterou este registro enquanto você editava. Suas alterações não foram salvas: "
                 "feche o formulário e abra-o de novo para ver a versão atual.",
        "en": "Someone else changed this record while you were editing. Your changes were not saved: "
              "close the form and open it again to see the current version."},
    "fleet.missing": {"pt-BR": "Este registro não existe mais (foi excluído?).",
                      "en": "This record no longer exists (was it deleted?)."},
    "fleet.fix_fields": {"pt-BR": "Corrija os campos destacados.", "en": "Please fix the highlighted fields."},
})

# tds_dash/fleet/device_list.py
MESSAGES.update({
    "devices.kind.energy_meter": {'pt-BR': 'Medidor de energia', 'en': 'Energy meter'},
    "devices.kind.water_meter": {'pt-BR': 'Hidrômetro', 'en': 'Water meter'},
    "devices.kind.gas_meter": {'pt-BR': 'Medidor de gás', 'en': 'Gas meter'},
    "devices.kind.temperature_sensor": {'pt-BR': 'Sensor de temperatura', 'en': 'Temperature sensor'},
    "devices.kind.meter": {'pt-BR': 'Medidor', 'en': 'Meter'},
    "devices.kind.other": {'pt-BR': 'Outro', 'en': 'Other'},
    "devices.meter.counter": {'pt-BR': 'Contador (acumulado)', 'en': 'Counter (cumulative)'},
    "devices.meter.delta": {'pt-BR': 'Delta (consumo do intervalo)', 'en': 'Delta (interval consumption)'},
    "devices.meter.gauge": {'pt-BR': 'Instantâneo (sem consumo)', 'en': 'Gauge (no consumption)'},
    "nav.devices": {"pt-BR": "Dispositivos", "en": "Devices"},
    "devices.title": {"pt-BR": "Dispositivos", "en": "Devices"},
    "devices.new": {"pt-BR": "Novo dispositivo", "en": "New device"},
    "devices.new_title": {"pt-BR": "Novo dispositivo", "en": "New device"},
    "devices.edit_title": {"pt-BR": "Editar dispositivo {code}", "en": "Edit device {code}"},
    "devices.gateway": {"pt-BR": "Gateway", "en": "Gateway"},
    "devices.gateway_fixed": {"pt-BR": "O gateway não muda depois de criado.", "en": "The gateway is fixed once created."},
    "devices.code": {"pt-BR": "Código", "en": "Code"},
    "devices.code_help": {"pt-BR": "O campo device das leituras; único dentro do gateway.",
                          "en": "The device field of readings; unique within the gateway."},
    "devices.name": {"pt-BR": "Nome", "en": "Name"},
    "devices.kind": {"pt-BR": "Tipo", "en": "Kind"},
    "devices.account": {"pt-BR": "Conta", "en": "Account"},
    "devices.last_reading": {"pt-BR": "Última leitura", "en": "Last reading"},
    "devices.metrics": {"pt-BR": "Grandezas medidas", "en": "Measured quantities"},
    "devices.metrics_none": {"pt-BR": "Nenhuma leitura ainda: as grandezas aparecem aqui com a primeira leitura.",
                             "en": "No reading yet: quantities appear here with the first reading."},
    "devices.metric": {"pt-BR": "Grandeza", "en": "Quantity"},
    "devices.meter_kind": {"pt-BR": "Tipo de medição", "en": "Meter kind"},
    "devices.unit": {"pt-BR": "Unidade", "en": "Unit"},
    "devices.no_unit": {"pt-BR": "(sem unidade)", "en": "(no unit)"},
    "devices.rollover": {"pt-BR": "Virada em", "en": "Rolls over at"},
    "devices.interval": {"pt-BR": "Intervalo usual (s)", "en": "Usual interval (s)"},
    "devices.interval_help": {"pt-BR": "Vazio: aprendido das leituras. Silencioso após 3× este intervalo.",
                              "en": "Empty: learned from readings. Silent after 3× this interval."},
    "devices.purge": {"pt-BR": "Excluir definitivamente o dispositivo, suas leituras e agregados (irreversível)",
                      "en": "Permanently delete the device, its readings and rollups (cannot be undone)"},
})

# tds_dash/fleet/events.py
MESSAGES.update({
    "nav.events": {"pt-BR": "Eventos", "en": "Events"},
    "events.title": {"pt-BR": "Eventos da frota", "en": "Fleet events"},
    "events.kinds": {"pt-BR": "Tipos", "en": "Kinds"},
    "events.period": {"pt-BR": "Período", "en": "Period"},
    "events.period.24h": {"pt-BR": "Últimas 24 h", "en": "Last 24 h"},
    "events.period.7d": {"pt-BR": "Últimos 7 dias", "en": "Last 7 days"},
    "events.period.30d": {"pt-BR": "Últimos 30 dias", "en": "Last 30 days"},
    "events.dates_hint": {"pt-BR": "ou datas (têm precedência)", "en": "or dates (take precedence)"},
    "events.start": {"pt-BR": "Início", "en": "Start"},
    "events.end": {"pt-BR": "Fim", "en": "End"},
    "events.col.when": {"pt-BR": "Quando", "en": "When"},
    "events.col.kind": {"pt-BR": "Evento", "en": "Event"},
    "events.col.gateway": {"pt-BR": "Gateway", "en": "Gateway"},
    "events.col.what": {"pt-BR": "O que houve", "en": "What happened"},
    "events.col.count": {"pt-BR": "Vezes", "en": "Times"},
    "events.empty": {"pt-BR": "Nenhum evento com estes filtros.", "en": "No events match these filters."},
})

# tds_dash/fleet/gateway_detail.py
MESSAGES.update({
    "gateway.not_found": {"pt-BR": "Gateway não encontrado.", "en": "Gateway not found."},
    "gateway.back": {"pt-BR": "Voltar aos gateways", "en": "Back to gateways"},
    "gateway.account": {"pt-BR": "Conta {account} · local {location} · inatividade até offline {timeout}",
                        "en": "Account {account} · location {location} · inactivity timeout {timeout}"},
    "gateway.last_message": {"pt-BR": "Última mensagem: {seen}", "en": "Last message: {seen}"},
    "gateway.seq_gaps": {"pt-BR": "Mensagens perdidas (pela sequência): {count}",
                         "en": "Messages missing (by sequence): {count}"},
    "gateway.uptime": {"pt-BR": "Disponibilidade {window}", "en": "Uptime {window}"},
    "gateway.uptime_note": {"pt-BR": "do tempo monitorado", "en": "of the monitored time"},
    "gateway.devices": {"pt-BR": "Dispositivos", "en": "Devices"},
    "gateway.manage_devices": {"pt-BR": "Gerenciar dispositivos", "en": "Manage devices"},
    "gateway.history": {"pt-BR": "Histórico de status", "en": "Status history"},
    "gateway.rejections": {"pt-BR": "Mensagens rejeitadas deste gateway", "en": "Rejected messages from this gateway"},
    "gateway.none": {"pt-BR": "Nada registrado.", "en": "Nothing recorded."},
    "gateway.col.status": {"pt-BR": "Status", "en": "Status"},
    "gateway.col.reason": {"pt-BR": "Motivo", "en": "Reason"},
    "gateway.col.from": {"pt-BR": "De", "en": "From"},
    "gateway.col.to": {"pt-BR": "Até", "en": "To"},
    "gateway.col.duration": {"pt-BR": "Duração", "en": "Duration"},
    "gateway.col.time": {"pt-BR": "Recebida em", "en": "Received"},
    "gateway.col.detail": {"pt-BR": "Detalhe", "en": "Detail"},
    "gateway.col.readings": {"pt-BR": "Leituras recusadas / aceitas", "en": "Readings refused / kept"},
    "gateway.now": {"pt-BR": "agora", "en": "now"},
    "gateway.reason.message": {"pt-BR": "mensagens chegando", "en": "messages arriving"},
    "gateway.reason.birth": {"pt-BR": "conectou (nascimento)", "en": "connected (birth)"},
    "gateway.reason.will": {"pt-BR": "desconectou (will)", "en": "disconnected (will)"},
    "gateway.reason.silent": {"pt-BR": "silêncio além do limite", "en": "silent past the timeout"},
})

# tds_dash/fleet/gateway_detail.py
MESSAGES.update({
    "gateway.offline_title": {"pt-BR": "Gateways offline", "en": "Offline gateways"},
    "gateway.offline_since": {"pt-BR": "offline {age}", "en": "offline {age}"},
})

# tds_dash/fleet/gateway_list.py
MESSAGES.update({
    "nav.gateways": {"pt-BR": "Gateways", "en": "Gateways"},
    "gateways.title": {"pt-BR": "Gateways", "en": "Gateways"},
    "gateways.new": {"pt-BR": "Novo gateway", "en": "New gateway"},
    "gateways.edit_title": {"pt-BR": "Editar gateway {serial}", "en": "Edit gateway {serial}"},
    "gateways.new_title": {"pt-BR": "Novo gateway", "en": "New gateway"},
    "gateways.account": {"pt-BR": "Conta", "en": "Account"},
    "gateways.serial": {"pt-BR": "Número de série", "en": "Serial"},
    "gateways.name": {"pt-BR": "Nome", "en": "Name"},
    "gateways.location": {"pt-BR": "Local", "en": "Location"},
    "gateways.timeout": {"pt-BR": "Inatividade até offline (s)", "en": "Inactivity timeout (s)"},
    "gateways.timeout_help": {"pt-BR": "De 10 a 86.400 segundos; padrão 300 (5 min).",
                              "en": "10 to 86,400 seconds; default 300 (5 min)."},
    "gateways.serial_help": {"pt-BR": "A parte {gateway} do tópico MQTT tds/{conta}/{gateway}/telemetry.",
                             "en": "The {gateway} part of the MQTT topic tds/{account}/{gateway}/telemetry."},
    "gateways.account_fixed": {"pt-BR": "A conta não muda depois de criado.", "en": "The account is fixed once created."},
    "gateways.last_seen": {"pt-BR": "Última mensagem", "en": "Last message"},
    "gateways.devices": {"pt-BR": "Dispositivos", "en": "Devices"},
    "gateways.unknown_title": {"pt-BR": "Gateways não cadastrados enviando dados",
                               "en": "Unregistered gateways sending data"},
    "gateways.unknown_row": {"pt-BR": "{serial} (conta {account}): {count} mensagens rejeitadas, a última {age}",
                             "en": "{serial} (account {account}): {count} rejected messages, the last {age}"},
    "gateways.register": {"pt-BR": "Cadastrar este gateway", "en": "Register this gateway"},
    "gateways.provisioning_title": {"pt-BR": "Criar dispositivos automaticamente (por conta)",
                                    "en": "Create devices automatically (per account)"},
    "gateways.provisioning_help": {
        "pt-BR": "Ligado: um código de dispositivo desconhecido em um gateway cadastrado cria o dispositivo (marcado "
                 "como novo). Desligado: essas leituras são rejeitadas (unknown_device).",
        "en": "On: an unknown device code under a registered gateway creates the device (marked new). "
              "Off: those readings are rejected (unknown_device)."},
})

# tds_dash/fleet/text.py
MESSAGES.update({
    "fleet.status.online": {"pt-BR": "online", "en": "online"},
    "fleet.status.offline": {"pt-BR": "offline", "en": "offline"},
    "fleet.status.never": {"pt-BR": "nunca visto", "en": "never seen"},
    "fleet.status.inactive": {"pt-BR": "desativado", "en": "deactivated"},
    "fleet.status.silent": {"pt-BR": "silencioso", "en": "silent"},
    "fleet.status.new": {"pt-BR": "novo", "en": "new"},
    "fleet.age.now": {"pt-BR": "agora mesmo", "en": "just now"},
    "fleet.age.seconds": {"pt-BR": "há {n} s", "en": "{n} s ago"},
    "fleet.age.minutes": {"pt-BR": "há {n} min", "en": "{n} min ago"},
    "fleet.age.hours": {"pt-BR": "há {n} h", "en": "{n} h ago"},
    "fleet.age.days": {"pt-BR": "há {n} dias", "en": "{n} days ago"},
    "fleet.age.day": {"pt-BR": "há 1 dia", "en": "1 day ago"},
    "fleet.seen.ago": {"pt-BR": "visto {age}", "en": "seen {age}"},
    "fleet.seen.never": {"pt-BR": "nunca visto", "en": "never seen"},
    "fleet.why.will": {"pt-BR": "desconectado (will) às {time}", "en": "disconnected (will) at {time}"},
    "fleet.why.silent": {"pt-BR": "silencioso há {duration} (limite {timeout})", "en": "silent for {duration} (timeout {timeout})"},
    "fleet.event.gateway_offline.will": {"pt-BR": "Gateway desconectado (will) às {time}",
                                   "en": "Gateway disconnected (will) at {time}"},
    "fleet.event.gateway_offline.silent": {
        "pt-BR": "Gateway silencioso: nenhuma mensagem desde {since} (limite de inatividade {timeout})",
        "en": "Gateway silent: no message since {since} (inactivity timeout {timeout})"},
    "fleet.event.gateway_online.message": {"pt-BR": "Gateway voltou a enviar mensagens às {time}",
                                     "en": "Gateway sending messages again at {time}"},
    "fleet.event.gateway_online.birth": {"pt-BR": "Gateway conectado (mensagem de nascimento) às {time}",
                                   "en": "Gateway connected (birth message) at {time}"},
    "fleet.event.gateway_flapping": {
        "pt-BR": "Gateway instável: {count} mudanças de estado entre {start} e {end}; agora {state}",
        "en": "Gateway flapping: {count} state changes between {start} and {end}; now {state}"},
    "fleet.event.device_silent": {
        "pt-BR": "Medidor {device} silencioso por 3× seu intervalo usual ({interval}) com o gateway online;"
                 " última leitura às {since}",
        "en": "Meter {device} silent for 3× its usual interval ({interval}) while its gateway is online;"
              " last reading at {since}"},
    "fleet.event.device_back": {"pt-BR": "Medidor {device} voltou a enviar leituras às {time}",
                          "en": "Meter {device} reporting again at {time}"},
    "fleet.event.rejected_burst": {"pt-BR": "{count} mensagens rejeitadas de {gateway} entre {start} e {end} ({detail})",
                             "en": "{count} rejected messages from {gateway} between {start} and {end} ({detail})"},
    "fleet.kind.gateway_offline": {"pt-BR": "Gateway offline", "en": "Gateway offline"},
    "fleet.kind.gateway_online": {"pt-BR": "Gateway online", "en": "Gateway online"},
    "fleet.kind.gateway_flapping": {"pt-BR": "Gateway instável", "en": "Gateway flapping"},
    "fleet.kind.device_silent": {"pt-BR": "Medidor silencioso", "en": "Meter silent"},
    "fleet.kind.device_back": {"pt-BR": "Medidor de volta", "en": "Meter back"},
    "fleet.kind.rejected_burst": {"pt-BR": "Rajada de rejeições", "en": "Rejection burst"},
})

# tds_dash/fleet/validation.py
MESSAGES.update({
    "form.required": {"pt-BR": "Campo obrigatório.", "en": "Required."},
    "form.serial_format": {
        "pt-BR": "Use de 2 a 64 caracteres: letras sem acento, dígitos, '_', '.' ou '-', começando por letra ou dígito.",
        "en": "Use 2 to 64 characters: letters, digits, '_', '.' or '-', starting with a letter or digit."},
    "form.code_format": {
        "pt-BR": "Use de 1 a 64 caracteres: letras sem acento, dígitos, '_', '.', ':' ou '-', começando por letra "
                 "ou dígito.",
        "en": "Use 1 to 64 characters: letters, digits, '_', '.', ':' or '-', starting with a letter or digit."},
    "form.serial_taken": {"pt-BR": "Já existe um gateway com este número de série.",
                          "en": "A gateway with this serial already exists."},
    "form.code_taken": {"pt-BR": "Já existe um dispositivo com este código neste gateway.",
                        "en": "This gateway already has a device with this code."},
    "form.integer": {"pt-BR": "Informe um número inteiro (ex.: 900 ou 1.000.000).",
                     "en": "Enter a whole number (e.g. 900 or 1,000,000)."},
    "form.number": {"pt-BR": "Informe um número (ex.: 99999,9 ou 1.000.000,5).",
                    "en": "Enter a number (e.g. 99999.9 or 1,000,000.5)."},
    "form.range": {"pt-BR": "Informe um valor entre {low} e {high}.", "en": "Enter a value between {low} and {high}."},
    "form.too_long": {"pt-BR": "Use no máximo {max} caracteres.", "en": "Use at most {max} characters."},
    "form.choice": {"pt-BR": "Escolha uma opção da lista.", "en": "Choose an option from the list."},
    "form.rollover_counter_only": {"pt-BR": "Só medidores do tipo contador têm valor de virada.",
                                   "en": "Only counters have a rollover value."},
})

# tds_dash/monitoring/ingest_page.py
MESSAGES.update({
    "nav.ingest": {"pt-BR": "Ingestão", "en": "Ingest"},
    "ingest.title": {"pt-BR": "Ingestão — última hora", "en": "Ingest — last hour"},
    "ingest.note": {"pt-BR": "Por minuto, somando os processos de ingestão. Métricas ao vivo: /metrics e /api/health.",
                    "en": "Per minute, summed over ingest processes. Live metrics: /metrics and /api/health."},
    "ingest.chart.throughput": {"pt-BR": "Vazão (por segundo)", "en": "Throughput (per second)"},
    "ingest.chart.problems": {"pt-BR": "Duplicadas, rejeitadas e lacunas de sequência (por minuto)",
                              "en": "Duplicates, rejections and sequence gaps (per minute)"},
    "ingest.chart.commit": {"pt-BR": "Tempo de gravação por lote (ms)", "en": "Commit time per batch (ms)"},
    "ingest.chart.batch": {"pt-BR": "Tamanho do lote (leituras) e fila (mensagens)",
                           "en": "Batch size (readings) and queue (messages)"},
    "ingest.chart.reasons": {"pt-BR": "Rejeições por motivo", "en": "Rejections by reason"},
    "ingest.table.slowest": {"pt-BR": "Gateways mais lentos (gravação − ts da mensagem)",
                             "en": "Slowest gateways (commit − message ts)"},
    "ingest.rejected_link": {"pt-BR": "Ver mensagens rejeitadas", "en": "See rejected messages"},
    "ingest.series.received": {"pt-BR": "Mensagens recebidas/s", "en": "Messages received/s"},
    "ingest.series.acknowledged": {"pt-BR": "Mensagens confirmadas/s", "en": "Messages acknowledged/s"},
    "ingest.series.stored": {"pt-BR": "Leituras gravadas/s", "en": "Readings stored/s"},
    "ingest.series.duplicates": {"pt-BR": "Leituras duplicadas", "en": "Duplicate readings"},
    "ingest.series.rejected": {"pt-BR": "Mensagens rejeitadas", "en": "Rejected messages"},
    "ingest.series.gaps": {"pt-BR": "Lacunas de sequência", "en": "Sequence gaps"},
    "ingest.series.commit_avg": {"pt-BR": "Média", "en": "Average"},
    "ingest.series.commit_max": {"pt-BR": "Máximo", "en": "Maximum"},
    "ingest.series.batch_avg": {"pt-BR": "Lote médio", "en": "Average batch"},
    "ingest.series.batch_max": {"pt-BR": "Maior lote", "en": "Largest batch"},
    "ingest.series.queue_max": {"pt-BR": "Fila (máx.)", "en": "Queue (max)"},
    "ingest.col.account": {"pt-BR": "Conta", "en": "Account"},
    "ingest.col.messages": {"pt-BR": "Mensagens", "en": "Messages"},
    "ingest.col.delay_avg": {"pt-BR": "Atraso médio (s)", "en": "Average delay (s)"},
    "ingest.col.delay_max": {"pt-BR": "Atraso máximo (s)", "en": "Maximum delay (s)"},
    "ingest.col.seq_gaps": {"pt-BR": "Lacunas (total)", "en": "Gaps (total)"},
    "ingest.col.last_seen": {"pt-BR": "Última mensagem", "en": "Last message"},
})

# tds_dash/fleet/accounts.py
MESSAGES.update({
    'form.slug_format': {'pt-BR': "Use de 2 a 63 caracteres: letras minúsculas sem acento, dígitos ou '-', começando por letra ou dígito.", 'en': "Use 2 to 63 characters: lowercase letters, digits or '-', starting with a letter or digit."},
    "form.slug_taken": {"pt-BR": "Já existe uma conta com este identificador.", "en": "An account with this slug already exists."},
})

# tds_dash/fleet/imports.py
MESSAGES.update({
    "import.encoding": {"pt-BR": "O arquivo não está em UTF-8.", "en": "The file is not UTF-8."},
    "import.empty": {"pt-BR": "O arquivo não tem linha de cabeçalho.", "en": "The file has no header row."},
    "import.columns": {"pt-BR": "Colunas obrigatórias ausentes: {missing}. Colunas aceitas: {allowed}.", "en": "Missing required columns: {missing}. Accepted columns: {allowed}."},
    "import.unknown_column": {"pt-BR": "Coluna desconhecida: {name}. Colunas aceitas: {allowed}.", "en": "Unknown column: {name}. Accepted columns: {allowed}."},
    "import.too_many": {"pt-BR": "No máximo {max} linhas por arquivo.", "en": "At most {max} rows per file."},
    "import.cells": {"pt-BR": "A linha tem {found} células; o cabeçalho tem {expected}.", "en": "The row has {found} cells; the header has {expected}."},
})

# tds_dash/alarms/messages.py
MESSAGES.update({
    "alarms.severity.critical": {"pt-BR": "Crítico", "en": "Critical"},
    "alarms.severity.major": {"pt-BR": "Maior", "en": "Major"},
    "alarms.severity.minor": {"pt-BR": "Menor", "en": "Minor"},
    "alarms.severity.warning": {"pt-BR": "Aviso", "en": "Warning"},
    "alarms.kind.gateway_offline": {"pt-BR": "Gateway offline", "en": "Gateway offline"},
    "alarms.kind.meter_silent": {"pt-BR": "Medidor silencioso", "en": "Meter silent"},
    "alarms.kind.meter_stuck": {"pt-BR": "Medidor travado", "en": "Meter stuck"},
    "alarms.kind.consumption_above": {"pt-BR": "Consumo acima do limite", "en": "Consumption above threshold"},
    "alarms.kind.night_flow": {"pt-BR": "Consumo noturno (vazamento?)", "en": "Night flow (leak?)"},
    "alarms.kind.spike": {"pt-BR": "Pico de consumo", "en": "Consumption spike"},
    "alarms.kind.ingest_stalled": {"pt-BR": "Ingestão parada", "en": "Ingest stalled"},
    "alarms.kind.certificate_expiring": {"pt-BR": "Certificado do gateway expirando",
                                         "en": "Gateway certificate expiring"},
    "alarms.kind.test": {"pt-BR": "Teste", "en": "Test"},
    "alarms.event.raised": {"pt-BR": "disparado", "en": "raised"},
    "alarms.event.cleared": {"pt-BR": "normalizado", "en": "cleared"},
    "alarms.event.acknowledged": {"pt-BR": "reconhecido", "en": "acknowledged"},
    "alarms.event.renotify": {"pt-BR": "ainda ativo e não reconhecido", "en": "still active and unacknowledged"},
    "alarms.event.test": {"pt-BR": "mensagem de teste", "en": "test message"},
    "alarms.mail.subject": {"pt-BR": "[TDS] {severity}: {kind} — {subject} ({event})", "en": "[TDS] {severity}: {kind} — {subject} ({event})"},
    "alarms.mail.body": {"pt-BR": "Alarme {event}: {kind} ({rule})\nConta: {account}\nAssunto: {subject}\nSeveridade: {severity}\nDesde: {started}\nDisparado em: {raised}\n{cleared}Ocorrências: {count}\nDetalhe: {detail}\n{comment}\nAbrir: {link}\n", "en": "Alarm {event}: {kind} ({rule})\nAccount: {account}\nSubject: {subject}\nSeverity: {severity}\nSince: {started}\nRaised at: {raised}\n{cleared}Occurrences: {count}\nDetail: {detail}\n{comment}\nOpen: {link}\n"},
    "alarms.mail.cleared": {"pt-BR": "Normalizado em: {when}\n", "en": "Cleared at: {when}\n"},
    "alarms.mail.comment": {"pt-BR": "Comentário de {who}: {text}\n", "en": "Comment by {who}: {text}\n"},
})

# tds_dash/alarms/view.py
MESSAGES.update({
    "nav.alarms": {"pt-BR": "Alarmes", "en": "Alarms"},
    "alarms.title": {"pt-BR": "Alarmes", "en": "Alarms"},
    "alarms.filter.severity": {"pt-BR": "Severidade", "en": "Severity"},
    "alarms.filter.state": {"pt-BR": "Estado", "en": "State"},
    "alarms.filter.rule": {"pt-BR": "Regra", "en": "Rule"},
    "alarms.filter.period": {"pt-BR": "Período", "en": "Period"},
    "alarms.state.active": {"pt-BR": "Ativos", "en": "Active"},
    "alarms.state.cleared": {"pt-BR": "Normalizados", "en": "Cleared"},
    "alarms.state.unack": {"pt-BR": "Não reconhecidos", "en": "Unacknowledged"},
    "alarms.state.active_unack": {"pt-BR": "Ativo, não reconhecido", "en": "Active, unacknowledged"},
    "alarms.state.active_ack": {"pt-BR": "Ativo, reconhecido", "en": "Active, acknowledged"},
    "alarms.state.cleared_unack": {"pt-BR": "Normalizado, não reconhecido", "en": "Cleared, unacknowledged"},
    "alarms.state.cleared_ack": {"pt-BR": "Normalizado, reconhecido", "en": "Cleared, acknowledged"},
    "alarms.period.24h": {"pt-BR": "Últimas 24 h", "en": "Last 24 h"},
    "alarms.period.7d": {"pt-BR": "Últimos 7 dias", "en": "Last 7 days"},
    "alarms.period.30d": {"pt-BR": "Últimos 30 dias", "en": "Last 30 days"},
    "alarms.col.severity": {"pt-BR": "Severidade", "en": "Severity"},
    "alarms.col.state": {"pt-BR": "Estado", "en": "State"},
    "alarms.col.kind": {"pt-BR": "Alarme", "en": "Alarm"},
    "alarms.col.subject": {"pt-BR": "Onde", "en": "Where"},
    "alarms.col.account": {"pt-BR": "Conta", "en": "Account"},
    "alarms.col.since": {"pt-BR": "Desde", "en": "Since"},
    "alarms.col.count": {"pt-BR": "Vezes", "en": "Times"},
    "alarms.col.detail": {"pt-BR": "Detalhe", "en": "Detail"},
    "alarms.col.actions": {"pt-BR": "Ações", "en": "Actions"},
    "alarms.ack": {"pt-BR": "Reconhecer", "en": "Acknowledge"},
    "alarms.clear": {"pt-BR": "Normalizar", "en": "Clear"},
    "alarms.comment": {"pt-BR": "Comentário (vai para o registro de auditoria)", "en": "Comment (goes to the audit log)"},
    "alarms.acked": {"pt-BR": "Alarme {id} reconhecido.", "en": "Alarm {id} acknowledged."},
    "alarms.cleared": {"pt-BR": "Alarme {id} normalizado.", "en": "Alarm {id} cleared."},
    "alarms.unchanged": {"pt-BR": "Alarme {id} já estava assim.", "en": "Alarm {id} was already so."},
    "alarms.forbidden": {"pt-BR": "Sem permissão: {reason}", "en": "Not allowed: {reason}"},
    "alarms.empty": {"pt-BR": "Nenhum alarme com estes filtros.", "en": "No alarms match these filters."},
    "alarms.deliveries": {"pt-BR": "Notificações enviadas (últimas tentativas)", "en": "Notifications sent (latest attempts)"},
    "alarms.deliveries.none": {"pt-BR": "Nenhuma notificação enviada ainda.", "en": "No notification sent yet."},
    "alarms.delivery.ok": {"pt-BR": "aceita", "en": "accepted"},
    "alarms.delivery.failed": {"pt-BR": "falhou (nova tentativa depois)", "en": "failed (retried later)"},
    "alarms.suppressed": {"pt-BR": " ({count} alarmes de medidores suspensos)", "en": " ({count} meter alarms held back)"},
})

# tariffs page (pages/tariffs.py, tds_dash/tariffs/view.py)
MESSAGES.update({
    "nav.tariffs": {"pt-BR": "Tarifas", "en": "Tariffs"},
    "tariffs.title": {"pt-BR": "Tarifas", "en": "Tariffs"},
    "tariffs.pick": {"pt-BR": "Escolha uma conta e uma grandeza.", "en": "Choose an account and a quantity."},
    "tariffs.none": {"pt-BR": "Esta conta não tem tarifa para esta grandeza: o custo não é calculado.",
                     "en": "This account has no tariff for this quantity: no cost is computed."},
    "tariffs.versions": {"pt-BR": "Versões (a mais recente primeiro)", "en": "Versions (newest first)"},
    "tariffs.surcharges": {"pt-BR": "Adicional mensal por unidade (bandeira)", "en": "Monthly surcharge per unit"},
    "tariffs.col.valid_from": {"pt-BR": "Vigente desde", "en": "Valid from"},
    "tariffs.col.fixed_fee": {"pt-BR": "Taxa fixa", "en": "Fixed fee"},
    "tariffs.col.minimum": {"pt-BR": "Valor mínimo", "en": "Minimum charge"},
    "tariffs.col.periods": {"pt-BR": "Postos horários", "en": "Time-of-use periods"},
    "tariffs.col.tiers": {"pt-BR": "Faixas", "en": "Tiers"},
    "tariffs.col.taxes": {"pt-BR": "Tributos", "en": "Taxes"},
    "tariffs.col.month": {"pt-BR": "Mês (AAAA-MM)", "en": "Month (YYYY-MM)"},
    "tariffs.col.label": {"pt-BR": "Rótulo", "en": "Label"},
    "tariffs.last_month": {"pt-BR": "Custo de {month} com a tarifa atual: {cost}",
                           "en": "Cost of {month} under the current tariff: {cost}"},
    "tariffs.preview_result": {"pt-BR": "{month}: {stored} com a tarifa atual, {draft} com esta versão",
                               "en": "{month}: {stored} under the current tariff, {draft} under this version"},
    "tariffs.statement": {"pt-BR": "Demonstrativo do mês passado:", "en": "Last month's statement:"},
    "tariffs.new": {"pt-BR": "Nova tarifa para esta conta e grandeza", "en": "New tariff for this account and quantity"},
    "tariffs.name": {"pt-BR": "Nome", "en": "Name"},
    "tariffs.uf": {"pt-BR": "UF (feriados estaduais)", "en": "State (its holidays)"},
    "tariffs.create": {"pt-BR": "Criar tarifa", "en": "Create tariff"},
    "tariffs.created": {"pt-BR": "Tarifa criada.", "en": "Tariff created."},
    "tariffs.form": {"pt-BR": "Nova versão (substitui a da mesma data)", "en": "New version (replaces one of the same date)"},
    "tariffs.json_hint": {"pt-BR": "Listas em JSON, decimais como texto: postos [{\"name\", \"price\", \"windows\": "
                                   "[{\"day_type\", \"start\", \"end\"}]}], faixas [{\"up_to\", \"price\"}], tributos "
                                   "[{\"name\", \"rate\"}].",
                          "en": "Lists as JSON, decimals as text: periods [{\"name\", \"price\", \"windows\": "
                                "[{\"day_type\", \"start\", \"end\"}]}], tiers [{\"up_to\", \"price\"}], taxes "
                                "[{\"name\", \"rate\"}]."},
    "tariffs.preview": {"pt-BR": "Prévia do mês passado", "en": "Preview last month"},
    "tariffs.save": {"pt-BR": "Salvar", "en": "Save"},
    "tariffs.saved": {"pt-BR": "Versão de {date} salva.", "en": "Version of {date} saved."},
    "tariffs.surcharge_saved": {"pt-BR": "Adicional de {month} salvo.", "en": "Surcharge of {month} saved."},
    "tariffs.forbidden": {"pt-BR": "Sem permissão: apenas operadores e administradores alteram tarifas.",
                          "en": "Not allowed: only operators and admins change tariffs."},
    "tariffs.invalid": {"pt-BR": "Campo {field}: {message}", "en": "Field {field}: {message}"},
})

# monthly statements (tds_dash/tariffs/statements.py)
MESSAGES.update({
    "statement.title": {"pt-BR": "Demonstrativo de custo", "en": "Cost statement"},
    "statement.total": {"pt-BR": "Total", "en": "Total"},
    "statement.component.energy": {"pt-BR": "Energia", "en": "Energy"},
    "statement.component.tier": {"pt-BR": "Faixa", "en": "Tier"},
    "statement.component.surcharge": {"pt-BR": "Adicional", "en": "Surcharge"},
    "statement.component.fixed_fee": {"pt-BR": "Taxa fixa", "en": "Fixed fee"},
    "statement.component.minimum": {"pt-BR": "Complemento do mínimo", "en": "Minimum top-up"},
    "statement.component.tax": {"pt-BR": "Tributo", "en": "Tax"},
    "statement.component.unpriced": {"pt-BR": "Sem tarifa", "en": "Not priced"},
})
# tds_dash/certificates/view.py, page_actions.py; the gateways list's badge (tds_dash/fleet/gateway_list.py)
MESSAGES.update({
    "certs.title": {"pt-BR": "Certificados", "en": "Certificates"},
    "certs.none": {"pt-BR": "Nenhum certificado emitido para este gateway.",
                   "en": "No certificate issued for this gateway."},
    "certs.col.id": {"pt-BR": "Id", "en": "Id"},
    "certs.col.serial": {"pt-BR": "Número de série", "en": "Serial number"},
    "certs.col.status": {"pt-BR": "Situação", "en": "Status"},
    "certs.col.origin": {"pt-BR": "Chave", "en": "Key"},
    "certs.col.until": {"pt-BR": "Válido até", "en": "Valid until"},
    "certs.col.by": {"pt-BR": "Emitido por", "en": "Issued by"},
    "certs.col.revoked": {"pt-BR": "Revogação", "en": "Revocation"},
    "certs.status.active": {"pt-BR": "ativo", "en": "active"},
    "certs.status.revoked": {"pt-BR": "revogado", "en": "revoked"},
    "certs.status.expired": {"pt-BR": "expirado", "en": "expired"},
    "certs.origin.csr": {"pt-BR": "do gateway (CSR)", "en": "the gateway's (CSR)"},
    "certs.origin.generated": {"pt-BR": "gerada aqui", "en": "generated here"},
    "certs.revoked_because": {"pt-BR": "{reason} ({by})", "en": "{reason} ({by})"},
    "certs.revoke": {"pt-BR": "Revogar", "en": "Revoke"},
    "certs.revoke_title": {"pt-BR": "Revogar certificado", "en": "Revoke certificate"},
    "certs.revoke_warning": {
        "pt-BR": "O gateway deixa de publicar com este certificado imediatamente. Diga o motivo.",
        "en": "The gateway can no longer publish with this certificate, at once. Say why."},
    "certs.reason": {"pt-BR": "Motivo (ex.: gateway roubado)", "en": "Reason (e.g. gateway stolen)"},
    "certs.revoked_done": {"pt-BR": "Certificado {id} revogado.", "en": "Certificate {id} revoked."},
    "certs.issue": {"pt-BR": "Emitir certificado e chave", "en": "Issue certificate and key"},
    "certs.issue_help": {
        "pt-BR": "A chave é gerada aqui e mostrada uma única vez. Melhor: cole abaixo o CSR do gateway.",
        "en": "The key is generated here and shown once only. Better: paste the gateway's CSR below."},
    "certs.sign": {"pt-BR": "Assinar CSR", "en": "Sign CSR"},
    "certs.ca_link": {"pt-BR": "Baixar o certificado da CA (ca.pem)", "en": "Download the CA certificate (ca.pem)"},
    "certs.download_cert": {"pt-BR": "Baixar certificado", "en": "Download certificate"},
    "certs.download_key": {"pt-BR": "Baixar chave privada", "en": "Download private key"},
    "certs.download_ca": {"pt-BR": "Baixar CA", "en": "Download CA"},
    "certs.issued_key_once": {
        "pt-BR": "Certificado emitido. Salve a chave privada agora: ela não fica guardada e não será mostrada de novo.",
        "en": "Certificate issued. Save the private key now: it is not stored and will not be shown again."},
    "certs.issued_csr": {"pt-BR": "CSR assinado: certificado emitido (a chave ficou no gateway).",
                         "en": "CSR signed: certificate issued (the key stayed on the gateway)."},
    "certs.gaps_note": {
        "pt-BR": "Uma mensagem que o broker recusa (certificado revogado, tópico de outro gateway) é confirmada ao"
                 " gateway (PUBACK) e descartada: ele não fica sabendo. As lacunas na sequência mostram essas perdas.",
        "en": "A message the broker refuses (revoked certificate, another gateway's topic) is acknowledged to the"
              " gateway (PUBACK) and dropped: it never knows. Gaps in the sequence show those losses."},
    "certs.error": {"pt-BR": "Recusado: {message}", "en": "Refused: {message}"},
    "certs.error.forbidden": {"pt-BR": "Seu papel não permite esta alteração.",
                              "en": "Your role does not allow this change."},
    "certs.error.unknown_gateway": {"pt-BR": "Gateway não encontrado.", "en": "Gateway not found."},
    "certs.error.unknown_certificate": {"pt-BR": "Certificado não encontrado.", "en": "Certificate not found."},
    "certs.error.csr_empty": {"pt-BR": "Cole o CSR (PEM) do gateway.", "en": "Paste the gateway's CSR (PEM)."},
    "certs.error.invalid_csr": {"pt-BR": "Isto não é um CSR PEM válido.", "en": "This is not a valid PEM CSR."},
    "certs.error.csr_cn_mismatch": {"pt-BR": "O CN do CSR precisa ser exatamente o número de série do gateway.",
                                    "en": "The CSR's CN must be exactly the gateway serial."},
    "certs.error.weak_key": {"pt-BR": "Chave fraca: use ECDSA P-256/P-384 ou RSA de 2048 bits ou mais.",
                             "en": "Weak key: use ECDSA P-256/P-384 or RSA of 2048 bits or more."},
    "certs.error.invalid_reason": {"pt-BR": "Diga o motivo da revogação (1 a 500 caracteres).",
                                   "en": "Say why it is revoked (1 to 500 characters)."},
    "certs.error.already_revoked": {"pt-BR": "Este certificado já estava revogado.",
                                    "en": "This certificate was already revoked."},
    "certs.error.reserved_serial": {"pt-BR": "Números de série que começam com tds-ingest são reservados.",
                                    "en": "Serials starting with tds-ingest are reserved."},
    "certs.badge.none": {"pt-BR": "sem certificado", "en": "no certificate"},
    "certs.badge.expiring": {"pt-BR": "expira em < 30 dias", "en": "expires in < 30 days"},
    "certs.badge.revoked": {"pt-BR": "revogado", "en": "revoked"},
})

# Issue 15 items 3-5: periods in progress, one meaning of "vs. previous period", shareable explorer views,
# loading and empty states (tds_dash/periods.py, tds_dash/figures.py, tds_dash/consumption/explorer/).
MESSAGES.update({
    "compare.help": {
        "pt-BR": "Comparação com o período anterior: o período atual até a última hora completa contra o mesmo "
                 "tempo decorrido desde o início do período anterior (este mês até 14h do dia 10 contra o mês "
                 "passado até 14h do dia 10); um período já encerrado é comparado inteiro com o anterior inteiro. "
                 "A visão geral e o explorador usam esta mesma regra.",
        "en": "Comparison with the previous period: the current period up to the last whole hour against the same "
              "elapsed time from the start of the previous period (this month up to 2 PM on the 10th against "
              "last month up to 2 PM on the 10th); a finished period is compared whole with the whole previous "
              "one. The overview and the explorer use this same rule."},
    "chart.partial": {"pt-BR": "em andamento", "en": "in progress"},
    "chart.consumption": {"pt-BR": "Consumo", "en": "Consumption"},
    "explorer.help_button": {"pt-BR": "Como o consumo é contado", "en": "How consumption is counted"},
    "explorer.copy_link": {"pt-BR": "copiar link", "en": "copy link"},
    "explorer.others_more": {"pt-BR": "Clique em \"Outros\" para ver os próximos {top} dispositivos.",
                             "en": "Click \"Others\" to see the next {top} devices."},
    "granularity.week": {"pt-BR": "Semana", "en": "Week"},
    "csv.bucket_start": {"pt-BR": "Início do intervalo", "en": "Bucket start"},
    "csv.previous_bucket_start": {"pt-BR": "Início do intervalo anterior", "en": "Previous bucket start"},
    "csv.total": {"pt-BR": "Total", "en": "Total"},
    "csv.others": {"pt-BR": "Outros", "en": "Others"},
    "csv.previous_total": {"pt-BR": "Total do período anterior", "en": "Previous period total"},
})
