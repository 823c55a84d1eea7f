"""Español: cada texto que ve una persona (las mismas claves que en.py), con las palabras del
artículo donde nombra un concepto (GLOSSARY-es.md), y tuteo. Los nombres del código (n_layer,
top_k, block_size...) se quedan como están: también son los de la API y la línea de órdenes.

ERRORS escribe en español los mensajes de error, que la app guarda como una clave y sus valores
(gpt/errors.py): clave -> plantilla, con las claves del catálogo inglés (gpt/messages.py y en.py).
"""

from .learn_es import TEXTS as LEARN

TEXTS = {
    # --- la cabecera y el selector de idioma (app.py) ---
    "header": "# Mirador: un GPT que puedes entrenar y mirar por dentro\nConstruido desde cero siguiendo *Let's build GPT* de Karpathy. **Modelo:** {model} · **Se ejecuta en:** {device} · **Genera en:** {generation}",
    "language.switch": "Idioma",
    "tab.generate": "Generar",
    "tab.attention": "Atención",
    "tab.train": "Entrenar",
    "tab.model": "Modelo",
    "tab.learn": "Aprende",
    # Dónde se ejecutan los modelos (ui/threads.py)
    "device.cpu": "CPU, {cores} {cores_word} ({split}, {infer} por petición)",
    "device.core": "núcleo",
    "device.cores": "núcleos",
    "device.split.fixed": "{train} para entrenar",
    "device.split.adaptive": "{alone} para entrenar, {busy} mientras atiende una petición o un navegador de esta máquina dibuja el entrenamiento",
    # --- Generar ---
    "generate.intro": (
        "**Deja que el modelo escriba.** Lee tu texto inicial, da una probabilidad a cada token que podría venir "
        "después, elige uno, lo añade y repite. La **temperatura** cambia esas probabilidades antes de elegir: baja "
        "(0.2) va a lo seguro y se repite, 1 usa las probabilidades del propio modelo, alta (1.5) se arriesga y "
        "comete faltas de ortografía; 0 toma siempre el token más probable. **Top-k** se queda solo con los k tokens más "
        "probables, **top-p** con el menor número de tokens cuyas probabilidades suman p (0 y 1.0 los desactivan). La "
        "misma **semilla** da el mismo texto."
    ),
    "generate.prompt": "Texto inicial (prompt)",
    "generate.temperature": "temperatura",
    "generate.temperature.info": "0 = siempre el token más probable",
    "generate.top_k.info": "0 = desactivado",
    "generate.top_p.info": "1.0 = desactivado",
    "generate.seed": "semilla",
    "generate.new_seed": "Otra semilla",
    "generate.run": "Generar",
    "generate.stop": "Parar",
    "generate.output": "Texto generado",
    "generate.output.info": "tu texto inicial y, después, lo que escribió el modelo",
    "generate.plot": "siguiente token",
    "generate.figure.title": "Qué podría venir después ({how})",
    "generate.figure.greedy": "voraz: elige la barra más alta",
    "generate.figure.temperature": "temperatura {temperature:g}",
    # --- Atención ---
    "attention.intro": (
        "**¿Qué es la atención?** Cada token construye una *consulta* (\"¿qué busco?\"), y cada token hasta él "
        "ofrece una *clave* (\"¿qué contengo?\") y un *valor* (\"lo que transmito\"). Una cabeza compara la consulta "
        "con cada clave, convierte las puntuaciones en pesos que suman 1 (un softmax) y toma la mezcla ponderada de "
        "los valores. Abajo, una **fila** es el token que mira y las **columnas** son los tokens a los que mira; las "
        "celdas brillantes pesan más. El triángulo superior queda oscuro: un token nunca ve el futuro (la máscara "
        "causal). Cada cabeza aprende sus costumbres: mirar el carácter anterior, el principio de la palabra, el "
        "último espacio, quién habla en la línea…"
    ),
    "attention.text": "Texto que mirar",
    "attention.show": "Mostrar la atención",
    "attention.layer": "Capa",
    "attention.layer.info": "la capa 0 lee los tokens tal cual; las siguientes leen lo que escribieron las anteriores",
    "attention.grid": "mapas de atención",
    "attention.head": "Cabeza",
    "attention.head.info": "una cabeza, en grande: pasa el ratón por una celda para ver consulta, clave y peso",
    "attention.overview": "Todas las capas × todas las cabezas",
    # La zona de los tokens (ui/attention.py)
    "attention.tokens.one": "1 token",
    "attention.tokens.many": "{count} tokens",
    "attention.tokens.cut": " (los primeros {shown} de {total}: el contexto del modelo es de {context} tokens)",
    "attention.tokens.chip": "token {position}: id {id}",
    "attention.tokens.piece_of": ", un trozo de “{char}”",
    "attention.probe.title": "Atención de la capa {layer} sobre una frase fija, en el paso {step}",
    # --- Entrenar ---
    "train.intro": (
        "**Entrena un GPT con cualquier texto, en directo.** Elige un texto y un tamaño de modelo, pulsa "
        "**Entrenar** y observa tres cosas: la **pérdida** (cuánto le sorprende al modelo el siguiente token: baja "
        "a medida que aprende), las **muestras** (ruido, luego letras, luego palabras) y la **atención** de una capa "
        "sobre una frase fija (cada cabeza empieza uniforme y aprende adónde mirar). **Parar** conserva el modelo tal "
        "como está; en ambos casos pasa a ser *tu* modelo en las demás pestañas. Se entrena de uno en uno; los demás "
        "esperan su turno."
    ),
    "train.intro.slots": (
        "**Entrena un GPT con cualquier texto, en directo.** Elige un texto y un tamaño de modelo, pulsa "
        "**Entrenar** y observa tres cosas: la **pérdida** (cuánto le sorprende al modelo el siguiente token: baja "
        "a medida que aprende), las **muestras** (ruido, luego letras, luego palabras) y la **atención** de una capa "
        "sobre una frase fija (cada cabeza empieza uniforme y aprende adónde mirar). **Parar** conserva el modelo tal "
        "como está; en ambos casos pasa a ser *tu* modelo en las demás pestañas. Se entrenan {slots} a la vez; los "
        "demás esperan su turno."
    ),
    "train.text": "Texto de entrenamiento",
    "train.text.placeholder": "Pega aquí un texto…",
    "train.use_corpus": "Usar Shakespeare (1 MB)",
    "train.upload": "Subir .txt",
    "train.clear": "Borrar",
    "train.preset": "Tamaño del modelo",
    "train.preset.fast": "rápido",
    "train.preset.tiny": "diminuto",
    "train.preset.small": "pequeño",
    "train.preset.medium": "mediano",
    "train.preset.fast.note": "pensado para la velocidad: palabras en menos de un minuto (pérdida de validación ~1.9 con Shakespeare)",
    "train.preset.tiny.note": "el más pequeño: la pérdida baja en segundos",
    "train.preset.small.note": "cuatro capas y un contexto más largo: unos minutos",
    "train.preset.medium.note": "el modelo de la clase (6 capas x 384): lento en una CPU, pensado para una GPU",
    "train.start": "Entrenar",
    "train.stop": "Parar",
    "train.advanced": "Ajustes avanzados",
    "train.status": "estado",
    "train.status.ready": "Pulsa **Entrenar** para empezar. El tamaño `rápido` da resultados en segundos.",
    "train.loss": "pérdida",
    "train.samples": "Muestras",
    "train.samples.info": "lo que escribe el modelo en cada evaluación, la más reciente primero",
    "train.watch_layer": "Capa que observar",
    "train.watch_layer.info": "la atención de abajo es la de esta capa, renovada en cada evaluación; también la comparación de dos pasos, más abajo",
    "train.probe": "atención",
    "train.probe_sentence": "Frase observada",
    "train.probe_sentence.info": "su atención se registra en cada evaluación, para volver a verla abajo",
    "train.probe_sentence.placeholder": "vacía: el comienzo de tu texto de entrenamiento",
    # Los campos del formulario (gpt/settings.py): las etiquetas son los nombres de la API
    "train.field.tokenizer.label": "tokenizer",
    "train.field.tokenizer.info": "char: un token por carácter, como en la clase; bpe: los trozos de palabra de GPT-2 (vocabulario mayor)",
    "train.field.n_layer.label": "n_layer",
    "train.field.n_layer.info": "bloques del transformador apilados",
    "train.field.n_head.label": "n_head",
    "train.field.n_head.info": "cabezas de atención por bloque",
    "train.field.n_embd.label": "n_embd",
    "train.field.n_embd.info": "anchura del flujo residual (tamaño del embedding); divisible por n_head",
    "train.field.block_size.label": "block_size",
    "train.field.block_size.info": "contexto: cuántos tokens como máximo mira hacia atrás el modelo",
    "train.field.max_steps.label": "max_steps",
    "train.field.max_steps.info": "pasos del optimizador; el programa de la tasa de aprendizaje se planifica para ellos",
    "train.field.batch_size.label": "batch_size",
    "train.field.batch_size.info": "ventanas de texto por paso (el lote)",
    "train.field.learning_rate.label": "learning_rate",
    "train.field.learning_rate.info": "tasa de aprendizaje máxima, tras el calentamiento; baja en coseno hasta min_lr",
    "train.field.dropout.label": "dropout",
    "train.field.dropout.info": "probabilidad de poner a cero activaciones durante el entrenamiento (0 = desactivado)",
    "train.field.time_budget_s.label": "tiempo máximo (s)",
    "train.field.time_budget_s.info": "parar tras estos segundos de entrenamiento, evaluaciones incluidas (por defecto: sin límite)",
    "train.field.warmup_steps.label": "warmup_steps",
    "train.field.warmup_steps.info": "pasos de calentamiento lineal hasta la tasa de aprendizaje (por defecto: una décima parte de max_steps, 100 como máximo)",
    "train.field.keep_best.label": "conservar los mejores pesos",
    "train.field.keep_best.info": "terminar con los pesos de la menor pérdida de validación vista, no con los del último paso",
    # Las cifras del texto y el plan bajo los tamaños (ui/plan.py)
    "train.text.stats": "{chars:,} caracteres · {char_vocab} caracteres distintos (el vocabulario char) · {bpe_vocab:,} tokens BPE en uso",
    "train.text.none": "Aún no hay texto: pega uno, sube un archivo .txt o usa el Shakespeare incluido.",
    "train.text.too_long": "⚠ {chars:,} caracteres: más del límite de {limit:,}. Usa un texto más corto.",
    "train.plan.parameters": "**{millions:.2f}M parámetros** (vocabulario de {vocab:,} tokens)",
    "train.plan.over": " — ⚠ más del límite de {cap:.0f}M: baja n_layer o n_embd",
    "train.plan.over_bpe": " — ⚠ más del límite de {cap:.0f}M: baja n_layer o n_embd, o usa el tokenizador char",
    "train.plan.step": "unos **{step} por paso** {where} → {steps:,} pasos y {evals} evaluaciones ≈ **{total}**",
    "train.plan.step.budget": "unos **{step} por paso** {where} → **≈ {total}** (tiempo máximo; unos {steps:,} de {max_steps:,} pasos, {evals} evaluaciones)",
    "train.plan.step.close": "unos **{step} por paso** {where} → {steps:,} pasos y {evals} evaluaciones ≈ **{total}**, cerca del tiempo máximo de {budget}: puede que este termine el entrenamiento antes",
    "train.plan.step.budget.close": "unos **{step} por paso** {where} → **≈ {total}** (tiempo máximo; unos {steps:,} de {max_steps:,} pasos, {evals} evaluaciones). El entrenamiento entero está cerca del límite de {budget}: puede que termine antes sus {max_steps:,} pasos",
    "train.plan.parts": "de ellos pasos {steps_s} · evaluaciones con sus muestras y figuras {evals_s} · arranque, curva de pérdida y guardado {other_s}",
    "train.plan.on_device": "en {device}",
    "train.plan.on_cpu.one": "en esta CPU (1 hilo de entrenamiento)",
    "train.plan.on_cpu.many": "en esta CPU ({threads} hilos de entrenamiento)",
    "train.plan.invalid": "⚠ {error}",
    # El entrenamiento (ui/training.py)
    "train.status.waiting.one": "**En espera:** hay 1 entrenamiento por delante del tuyo ({at_once}). Pulsa Parar para salir de la cola.",
    "train.status.waiting.many": "**En espera:** hay {count} entrenamientos por delante del tuyo ({at_once}). Pulsa Parar para salir de la cola.",
    "train.status.one_at_a_time": "se entrena de uno en uno",
    "train.status.at_a_time": "se entrenan {slots} a la vez",
    "train.status.cancelled": "Cancelado antes de empezar. Tu modelo no ha cambiado.",
    "train.status.discarded": "La sesión terminó, así que el modelo entrenado se descartó.",
    "train.status.starting": "Entrenando un modelo de {millions:.2f}M parámetros en {device} ({precision})…",
    "train.status.step": "**Paso {step:,} / {max_steps:,}** · pérdida {loss:.3f}{val} · {tokens_per_s:,.0f} tokens/s · {elapsed:.1f} s transcurridos · quedan unos {left:.0f} s · {device} {precision}",
    "train.status.val": " · validación {val:.3f}",
    "train.status.not_started": "Parado antes del primer paso. Tu modelo no ha cambiado.",
    "train.status.how.done": "Terminado",
    "train.status.how.stop": "Parado",
    "train.status.how.time_budget": "Tiempo máximo alcanzado",
    "train.status.kept": " · se conservan los pesos del paso {step:,} (validación {val:.3f}), los mejores vistos",
    "train.status.overfitting": "  \n⚠ **Sobreajuste:** la pérdida de validación subió en cada una de las 3 últimas evaluaciones mientras bajaba la de entrenamiento: el modelo se está aprendiendo su texto de memoria. Los mejores pesos hasta ahora son los del paso {step:,} (validación {val:.3f}).",
    "train.status.done": "✓ **{how} en el paso {step:,}** en {elapsed:.1f} s · pérdida {loss:.3f}{val}{kept}. Ahora es el modelo de tu sesión: pruébalo en **Generar** y **Atención**, descárgalo en **Modelo**.",
    "train.stop.nothing": "No hay nada que parar: no hay ningún entrenamiento en marcha ni en espera en esta sesión.",
    "train.stop.stopping": "Parando tras el paso actual…",
    "train.stop.cancelled": "Cancelado: tu entrenamiento no había empezado. Tu modelo no ha cambiado.",
    "train.stop.finishing": "Tu entrenamiento ya terminó: su modelo se está guardando como el modelo de tu sesión.",
    "train.sample.header": "— paso {step} —",
    "train.sample.header_val": "— paso {step}, pérdida de validación {val:.2f} —",
    # Verlo aprender (ui/watch.py, la parte de abajo de Entrenar)
    "watch.title": "### Míralo aprender",
    "watch.intro": (
        "En cada evaluación la app registra la atención de **todas las capas y cabezas** sobre la frase observada, y "
        "cuánto le sorprende al modelo un trozo del texto de validación. Mueve el **paso** para volver a ver cómo se "
        "formaron las cabezas; marca **comparar** para ver qué cambió entre dos pasos en la capa que observas (rojo: más "
        "atención, azul: menos). Al descargar el modelo se conserva el registro."
    ),
    "watch.step": "Paso",
    "watch.step.info": "la atención de cada cabeza en este paso (el registrado más cercano)",
    "watch.compare": "comparar con otro paso",
    "watch.compare_step": "Comparado con el paso",
    "watch.compare_step.info": "el cambio desde este paso hasta el de arriba, en la capa que observas",
    "watch.replay": "atención en un paso",
    "watch.diff": "cambio en la atención",
    "watch.metrics": "métricas de las cabezas",
    "watch.tags": "etiquetas de las cabezas",
    "watch.surprise": "sorpresa",
    "watch.none": "Aún no hay registro: entrena aquí un modelo (o sube uno entrenado en Mirador) para volver a ver cómo se formaron sus cabezas.",
    "watch.replay.title": "Todas las capas y cabezas, en el paso {step:,}",
    "watch.diff.title": "Capa {layer}: cambio en la atención del paso {before:,} al paso {after:,}",
    "watch.tags.title": "Qué hace cada cabeza en el paso {step:,} (una etiqueta cuando un patrón reúne al menos el 60 % de su atención):",
    "watch.tag.previous-token": "mira el token anterior",
    "watch.tag.first-token": "mira el primer token",
    "watch.tag.self": "se mira a sí misma",
    "watch.tag.broad": "reparte su atención",
    "watch.tag.none": "sin un patrón claro",
    "watch.surprise.train": "Sorpresa en el texto de validación en el paso {step:,}: {mean:.2f} nats por token de media (una elección uniforme: {uniform:.2f}). Los tokens claros eran esperados, los rojo oscuro sorprendieron al modelo; pasa el ratón por uno (o tócalo) para ver sus 5 mejores apuestas.",
    "watch.surprise.prompt": "Cuánto le sorprende al modelo tu texto inicial: {mean:.2f} nats por token de media (una elección uniforme: {uniform:.2f}). Los tokens claros eran esperados, los rojo oscuro le sorprendieron; pasa el ratón por uno (o tócalo) para ver sus 5 mejores apuestas.",
    "watch.surprise.too_short": "El texto inicial tiene un solo token: no hay nada antes con qué predecirlo.",
    # La escalera de la clase (ui/ladder.py, ui/ladder_panel.py, viz/ladder.py)
    "ladder.title": "### La escalera de la clase",
    "ladder.intro": (
        "Entrena las siete etapas de la clase con el texto de arriba, desde cero, {seconds:g} s cada una (unos "
        "{minutes:.0f} min en total), y compara sus pérdidas de validación: una tabla de bigramas, una cabeza de "
        "atención, varias cabezas, una red feed-forward, conexiones residuales, LayerNorm y, al final, un modelo más "
        "grande con dropout. Cada idea debería bajar la pérdida. Espera su turno y entrena como **Entrenar**; el modelo "
        "de tu sesión no cambia."
    ),
    "ladder.run": "Ejecutar la escalera de la clase",
    "ladder.status.starting": "Entrenando las {count} etapas de la clase, {seconds:g} s cada una, en {device}…",
    "ladder.status.stage": "**Etapa {number} de {count}: {name}** · paso {step:,} · validación {val} · {elapsed:.1f} s de {seconds:g}",
    "ladder.status.done": "✓ **La escalera ha terminado:** {count} etapas en {elapsed:.0f} s. El modelo de tu sesión no ha cambiado.",
    "ladder.status.stopped": "**Detenida.** {done} de {count} etapas usaron todo su tiempo. El modelo de tu sesión no ha cambiado.",
    "ladder.status.cancelled": "Cancelada antes de empezar. Tu modelo no ha cambiado.",
    "ladder.stage.bigram": "bigramas",
    "ladder.stage.one_head": "una cabeza",
    "ladder.stage.multi_head": "multicabeza",
    "ladder.stage.feed_forward": "+ red feed-forward",
    "ladder.stage.residual": "+ conexiones residuales",
    "ladder.stage.layer_norm": "+ normalización de capa",
    "ladder.stage.scaled": "a mayor escala",
    "ladder.stage.scaled_cpu": "a mayor escala",
    "ladder.idea.bigram": "el siguiente token solo a partir del actual: una tabla de logits",
    "ladder.idea.one_head": "una cabeza de autoatención mira atrás en el contexto (8 tokens)",
    "ladder.idea.multi_head": "cuatro cabezas más pequeñas, cada una busca otra cosa",
    "ladder.idea.feed_forward": "una red feed-forward (MLP) después de la atención",
    "ladder.idea.residual": "conexiones residuales y proyecciones: tres bloques apilados",
    "ladder.idea.layer_norm": "normalización de capa (LayerNorm) antes de la atención, del MLP y de la salida",
    "ladder.idea.scaled": "6 bloques × 6 cabezas × 384 de ancho, contexto 256, dropout 0.2",
    "ladder.idea.scaled_cpu": "2 bloques × 4 cabezas × 128 de ancho, contexto 32, dropout 0.1 (el 6 × 384 de la clase necesita una GPU)",
    "ladder.note": (
        "Cada etapa se entrenó {seconds:g} s con tu texto, desde cero; su modelo no se guarda. La columna de la clase: "
        "sus pérdidas de validación con tiny Shakespeare, de los mensajes de commit de su repositorio (2023-01-16) y de "
        "reproducciones publicadas (≈). La clase entrenó cada etapa 5000 pasos en una GPU, mucho más que aquí."
    ),
    "viz.ladder.title": "Pérdida de validación por etapa",
    "viz.ladder.x_axis": "segundos de entrenamiento",
    "viz.ladder.hover": "%{fullData.name}<br>paso %{customdata:,} · %{x:.1f} s<br>validación %{y:.3f}",
    "viz.ladder.empty": "Las primeras evaluaciones llegan en unos segundos",
    "viz.ladder.stage": "etapa",
    "viz.ladder.parameters": "parámetros",
    "viz.ladder.steps": "pasos",
    "viz.ladder.seconds": "segundos",
    "viz.ladder.val_loss": "pérdida de validación",
    "viz.ladder.lecture": "pérdida de la clase",
    "viz.ladder.stopped": "(detenida)",
    # --- Modelo ---
    "model.intro": (
        "**Tu modelo.** Todo visitante empieza con el modelo incluido, entrenado con Shakespeare. Entrenar en la "
        "pestaña Entrenar o subir aquí un checkpoint (archivo del modelo) da a *esta pestaña del navegador* su propio "
        "modelo; nadie más lo ve, y se libera al cerrar la pestaña. Los checkpoints son archivos `.safetensors` (pesos "
        "y una cabecera JSON; nada en ellos puede ejecutar código), de hasta {upload}, {parameters}M parámetros y un "
        "contexto de {context} tokens."
    ),
    "model.download": "Descargar este modelo (.safetensors)",
    "model.upload": "Subir un checkpoint (.safetensors)",
    "model.reset": "Volver al modelo incluido",
    "model.loaded": "Cargado **{label}**: ahora es el modelo de tu sesión.",
    "model.was_reset": "De vuelta al modelo incluido.",
    # Cómo se llama un modelo (ui/checkpoints.py, ui/training.py)
    "model.label.bundled": "incluido: {name} ({kind}, {millions:.2f}M parámetros)",
    "model.label.untrained": "sin entrenar (no se encontró el checkpoint incluido): ¡entrena uno!",
    "model.label.uploaded": "subido: {name} ({kind}, {millions:.2f}M parámetros)",
    "model.label.trained": "entrenado aquí ({kind}, {millions:.2f}M parámetros, {steps} pasos)",
    # La ficha del modelo (ui/checkpoints.py)
    "model.card.model": "Modelo",
    "model.card.parameters": "Parámetros",
    "model.card.shape": "Capas × cabezas × anchura",
    "model.card.shape.value": "{n_layer} × {n_head} × {n_embd} (tamaño de cabeza {head_size})",
    "model.card.context": "Contexto (block_size)",
    "model.card.context.value": "{block_size} tokens",
    "model.card.tokenizer": "Tokenizador",
    "model.card.tokenizer.value": "{kind} — {vocab:,} tokens ({note})",
    "model.card.tokenizer.char": "un token por carácter",
    "model.card.tokenizer.bpe": "codificación por pares de bytes de GPT-2, reducida a los tokens en uso",
    "model.card.runs_on": "Se ejecuta en",
    "model.card.precision": "Precisión",
    "model.card.precision.value": "pesos en float32",
    "model.card.precision.trained": "pesos en float32; entrenado en {precision}",
    "model.card.generation": "Generación",
    "generation.precision.bf16": "bfloat16 (aproximada)",
    "generation.precision.exact": "float32 (exacta)",
    "generation.precision.why.bf16": "copias en bfloat16 de los pesos de los bloques, activaciones y logits en float32 (coincidencia top-1 con float32 ≥ 99 %)",
    "generation.precision.why.small": "los pesos de este modelo caben en la caché de la CPU, donde float32 genera más rápido que bfloat16",
    "generation.precision.why.no_bf16": "este hardware no tiene bfloat16 nativo",
    "generation.precision.why.bigram": "un modelo de bigramas es una sola tabla: no hay nada que copiar",
    "generation.precision.why.asked": "los mismos tokens que el bucle simple en float32",
    "model.card.training": "Entrenamiento",
    "model.card.field.steps": "pasos",
    "model.card.field.kept": "pesos conservados",
    "model.card.field.best_step": "mejor paso",
    "model.card.field.val_loss": "pérdida de validación",
    "model.card.field.last_val_loss": "pérdida de validación en el último paso",
    "model.card.field.train_loss": "pérdida de entrenamiento",
    "model.card.field.tokens_per_s": "tokens/s",
    "model.card.field.train_seconds": "segundos",
    "model.card.field.device": "dispositivo",
    "model.card.field.stopped_early": "parado antes de tiempo",
    "model.card.field.text": "texto de entrenamiento",
    "model.card.field.example": "empieza así",
    "model.card.kept.best": "los mejores",
    "model.card.kept.last": "los últimos",
    "model.card.best": "mejores pesos",
    "model.card.last": "últimos pesos",
    "model.card.checkpoint": "paso {step:,} · pérdida de validación {val}",
    "model.card.checkpoint.kept": "paso {step:,} · pérdida de validación {val} · ✓ conservados",
    "model.card.overfitting": "sobreajuste",
    "model.card.overfitting.value": "sí: la pérdida de validación subió en cada una de las 3 últimas evaluaciones mientras bajaba la de entrenamiento",
    "model.card.yes": "sí",
    "model.card.no": "no",
    "model.card.characters": "{count} caracteres",
    # Los textos de Gradio en la caja de subida (sus claves), de tú como el resto
    "upload_text.drop_file": "Suelta aquí el archivo",
    "upload_text.click_to_upload": "Haz clic para subirlo",
    # --- las figuras (viz/) ---
    "viz.attention.weight": "peso",
    "viz.attention.change": "cambio",
    "viz.attention.hover": "consulta %{y} → clave %{x}<br>peso %{z:.3f}",
    "viz.attention.diff_hover": "consulta %{y} → clave %{x}<br>cambio %{z:+.3f}",
    "viz.attention.grid_title": "Atención de la capa {layer}, un mapa por cabeza",
    "viz.attention.diff_title": "Capa {layer}: cambio en la atención",
    "viz.attention.head": "cabeza {head}",
    "viz.attention.single_title": "Atención de la capa {layer}, cabeza {head}",
    "viz.attention.key_axis": "clave (a la que se atiende)",
    "viz.attention.query_axis": "consulta (la que atiende)",
    "viz.attention.overview_title": "Todas las capas y cabezas",
    "viz.attention.layer_short": "capa {layer}",
    "viz.attention.head_short": "cab. {head}",
    "viz.attention.layer_head": "capa {layer}, cabeza {head}",
    "viz.loss.title": "Pérdida (cuanto más baja, mejor)",
    "viz.loss.train": "entrenamiento",
    "viz.loss.val": "validación",
    "viz.loss.step": "paso",
    "viz.loss.train_hover": "paso %{x}<br>entrenamiento %{y:.4f}",
    "viz.loss.val_hover": "paso %{x}<br>validación %{y:.4f}",
    "viz.loss.y_axis": "pérdida de entropía cruzada (nats)",
    "viz.loss.empty": "Pulsa Entrenar para empezar",
    "viz.next.title": "Siguientes tokens más probables",
    "viz.next.x_axis": "probabilidad",
    "viz.metrics.title": "Qué hace cada cabeza a lo largo del entrenamiento",
    "viz.metrics.step": "paso",
    "viz.metrics.entropy": "entropía (0 = una sola clave, 1 = uniforme)",
    "viz.metrics.previous": "parte en el token anterior",
    "viz.metrics.first": "parte en el primer token",
    "viz.metrics.itself": "parte en sí mismo",
    "viz.metrics.head": "capa {layer}, cab. {head}",
    "viz.metrics.empty": "Aún no hay instantáneas",
    "viz.surprise.header": "sorpresa {surprise:.2f} nats (p = {probability:.1%})",
    "viz.surprise.guesses": "el modelo esperaba:",
    "viz.surprise.guess": "{piece}  {probability:.1%}",
    "viz.surprise.first": "el primer token: no hay nada antes con qué predecirlo",
    **LEARN,  # the Learn tab (learn_es.py)
}

# Los mensajes de error, clave -> plantilla: las mismas claves y {marcadores} que el catálogo inglés
# (gpt/messages.py, los de la biblioteca, y en.py ERRORS, los de la app). Los nombres del código
# ({name}: top_k, n_layer...) se quedan como están.
ERRORS = {
    # --- los argumentos (gpt/checks.py, gpt/settings.py) ---
    "check.whole": "{name} debe ser un número entero; recibido: {value!r}.",
    "check.at_least": "{name} debe ser al menos {low}; recibido: {value}.",
    "check.at_most": "{name} debe ser como mucho {high}; recibido: {value}: elige un {name} menor.",
    "check.whole_at_least": "{name} debe ser un número entero >= {low}; recibido: {value!r}.",
    "check.whole_between": "{name} debe ser un número entero entre {low} y {high}; recibido: {value!r}.",
    "check.between": "{name} debe estar entre {low} y {high}; recibido: {value}.",
    "check.number": "{name} debe ser un número; recibido: {value!r}.",
    "check.finite": "{name} debe ser un número finito; recibido: {value!r}.",
    "check.number_in": "{name} debe ser un número en {range}; recibido: {value!r}.",
    "check.in": "{name} debe estar en {range}; recibido: {value}.",
    "check.ge": "{name} debe ser >= {low}; recibido: {value}.",
    "check.gt": "{name} debe ser > {low}; recibido: {value}.",
    "check.le": "{name} debe ser <= {high}; recibido: {value}.",
    "check.lt": "{name} debe ser < {high}; recibido: {value}.",
    "check.bool": "{name} debe ser true o false; recibido: {value!r}.",
    "check.one_of": "{name} debe ser {choices}; recibido: {value!r}.",
    "check.or": "{first} o {second}",
    "check.not_text": "{name} debe ser texto; recibido: {kind}.",
    # --- la forma del modelo (gpt/config.py) ---
    "config.n_embd_divisible": (
        "n_embd ({n_embd}) debe ser divisible por n_head ({n_head}) para que todas las cabezas tengan la misma "
        "anchura: prueba n_embd={suggested}."
    ),
    "config.too_many_parameters": "Esta forma tiene {count:,} parámetros, más del límite de {limit:,}: baja n_layer, n_embd o vocab_size.",
    "config.not_object": "La configuración de un modelo debe ser un objeto JSON.",
    "config.unknown_fields": "Campos desconocidos en la configuración del modelo: {fields}.",
    # Las etapas anteriores de la clase (gpt/model.py, ui/learn.py) y su escalera (gpt/ladder.py)
    "model.bigram_attention": (
        "Un modelo de bigramas no tiene atención: cada token predice el siguiente solo a partir de sí mismo. "
        "Carga o entrena un GPT para ver la atención."
    ),
    "ladder.text_too_short": (
        "El texto tiene {count} tokens; el contexto más largo de la escalera es de {context} tokens, así que "
        "necesita al menos {needed}. Da un texto más largo."
    ),
    "ladder.too_many_parameters": (
        "La etapa {stage} tendría {count:,} parámetros para los {tokens:,} tokens de este texto; el límite es "
        "{limit:,}. Usa el tokenizador char."
    ),
    # --- los tokenizadores (gpt/tokenizer.py) ---
    "tokenizer.not_text": "El texto de entrenamiento debe ser texto; recibido: {kind}.",
    "tokenizer.empty": "El texto de entrenamiento está vacío: primero pega o sube un texto.",
    "tokenizer.unseen": (
        "Este modelo nunca vio los caracteres {chars} en su texto de entrenamiento: quítalos, o entrena con un "
        "texto que los contenga."
    ),
    "tokenizer.kind": "El tokenizador debe ser {choices}; recibido: {value!r}.",
    "tokenizer.char_vocabulary": "Un vocabulario de caracteres no puede estar vacío y debe tener cada carácter una sola vez.",
    "tokenizer.char_encodable": "Un vocabulario de caracteres debe ser texto que UTF-8 pueda codificar (sin sustitutos sueltos).",
    "tokenizer.bpe_ids": "Un vocabulario BPE debe dar ids de tokens de GPT-2 entre 0 y 50256.",
    "tokenizer.bpe_bytes": "Un vocabulario BPE debe conservar los 256 tokens de un solo byte.",
    "tokenizer.not_object": "La descripción de un tokenizador debe ser un objeto JSON.",
    "tokenizer.unknown": "Descripción de tokenizador desconocida (tipo {kind!r}).",
    # --- la frase observada (gpt/timeline.py, ui/train_form.py) ---
    "probe.not_text": "La frase observada debe ser texto; recibido: {kind}.",
    "probe.unseen": (
        "La frase observada tiene caracteres que el texto de entrenamiento no contiene: {chars}. Quítalos, o deja "
        "la frase vacía para usar el comienzo del texto de entrenamiento."
    ),
    "probe.too_short": (
        "La frase observada tiene {count} token(s); necesita al menos {needed}. Escribe una más larga, o déjala "
        "vacía para usar el comienzo del texto de entrenamiento."
    ),
    # --- un entrenamiento (gpt/data.py, gpt/trainer.py, gpt/settings.py) ---
    "data.too_short": (
        "El texto tiene {count} tokens; para entrenar hacen falta al menos block_size + 1 = {needed} tokens. Da más "
        "texto o elige un block_size menor."
    ),
    "trainer.too_short": (
        "El texto de entrenamiento tiene {count} tokens; necesita al menos block_size + 1 = {needed} tokens. Da más "
        "texto o un block_size menor."
    ),
    "trainer.min_lr": "min_lr ({min_lr}) no debe superar learning_rate ({learning_rate}).",
    "trainer.stop_at_past": "stop_at ({stop_at}) va más allá de max_steps ({max_steps}): para en el último paso o antes.",
    "settings.learning_rate_hint": "Los valores habituales van de 1e-4 a 5e-3, los mayores para los modelos más pequeños; con valores mucho mayores la pérdida se dispara.",
    "trainer.diverged_loss": "El entrenamiento divergió en el paso {step}: la pérdida se volvió {value}.",
    "trainer.diverged_grad_norm": "El entrenamiento divergió en el paso {step}: la norma del gradiente se volvió {value}.",
    "trainer.keeps_best": "El modelo conserva los pesos de su mejor evaluación (paso {step}, pérdida de validación {loss:.4f}).",
    "trainer.keeps_last": "El modelo conserva sus últimos pesos finitos.",
    "trainer.lower_lr": "Baja la tasa de aprendizaje (ahora {lr:g}; prueba {suggested:g}) o el tamaño del modelo, y vuelve a entrenar.",
    # --- los checkpoints (gpt/checkpoint.py) ---
    "checkpoint.missing": "No hay ningún checkpoint en {path}.",
    "checkpoint.cut_short": (
        "{file} es un checkpoint de Mirador, pero está cortado ({size:,} de {expected:,} bytes): descárgalo o "
        "cópialo de nuevo."
    ),
    "checkpoint.not_ours": "{file} no es un checkpoint de Mirador ({reason}).",
    "checkpoint.save_with_mirador": "Guarda primero uno con Mirador.",
    "checkpoint.reason.unreadable": "no se puede leer como safetensors: {error}",
    "checkpoint.reason.no_header": "no tiene la cabecera de Mirador",
    "checkpoint.reason.invalid_header": "cabecera no válida: {detail}",
    "checkpoint.reason.vocab_mismatch": "el tokenizador tiene {count} tokens y el modelo espera {expected}",
    "checkpoint.reason.tensors_mismatch": (
        "sus tensores no corresponden a su configuración: faltan {missing}, sobran {unexpected}, forma distinta {wrong}"
    ),
    "checkpoint.reason.not_float32": "los pesos deben ser float32 finitos",
    "checkpoint.reason.timeline": "registro de atención no válido: {detail}",
    # --- los textos de la app: el texto inicial, el de Atención, la frase de Aprende ---
    "generate.prompt_empty": "El texto inicial está vacío: escribe unos caracteres para que el modelo los continúe.",
    "generate.prompt_too_long": "El texto inicial tiene {count:,} caracteres; el límite es {limit:,}. Usa un texto inicial más corto.",
    "generate.temperature_hint": (
        "Usa 0 para el muestreo voraz (siempre el más probable), unos 0.8 para un texto vivo y 1 para las "
        "probabilidades del propio modelo."
    ),
    "generate.top_k_hint": "Usa 0 para desactivar top-k.",
    "generate.top_p_hint": "Usa 1.0 para desactivar top-p.",
    "attention.text_empty": "El texto está vacío: escribe una frase que mirar.",
    "attention.text_too_long": "El texto tiene {count:,} caracteres; el límite es {limit:,}. Usa un texto más corto.",
    "attention.no_tokens": "El texto no tiene tokens: escribe una frase que mirar.",
    "attention.layer_hint": "Este modelo tiene {count} capa(s), numeradas de 0 a {last}.",
    "attention.head_hint": "Este modelo tiene {count} cabeza(s) por capa, numeradas de 0 a {last}.",
    "learn.sentence_empty": "La frase está vacía: escribe una frase que mirar.",
    "learn.sentence_too_long": "La frase tiene {count:,} caracteres; el límite es {limit:,}. Usa una frase más corta.",
    "learn.no_tokens": "La frase no tiene tokens: escribe una frase que mirar.",
    "learn.earlier_stage": (
        "La página Aprende recorre el GPT completo, y este modelo es una de las etapas anteriores de la clase. "
        "Carga o entrena un modelo completo para recorrerla."
    ),
    # --- un entrenamiento en la app ---
    "train.text_empty": "El texto de entrenamiento está vacío: pega un texto, sube un archivo .txt o usa el Shakespeare incluido.",
    "train.text_too_long": "El texto de entrenamiento tiene {count:,} caracteres; el límite es {limit:,}. Usa un texto de entrenamiento más corto.",
    "train.text_whitespace": "El texto de entrenamiento solo tiene espacios: pega un texto con palabras.",
    "train.tokens_per_step": "batch_size x block_size da {tokens:,} tokens por paso; el límite es {limit:,}. Baja batch_size o block_size.",
    "train.probe_too_long": "La frase observada tiene {count:,} caracteres; el límite es {limit:,}. Usa una frase observada más corta.",
    "train.max_steps_hint": "Es el límite por entrenamiento: elige menos pasos.",
    "train.time_budget_hint": "Cada entrenamiento dura como mucho {seconds:.0f} s: elige un tiempo máximo más corto.",
    "train.too_many_parameters": "Este modelo tendría {count:,} parámetros; el límite es {limit:,}.",
    "train.lower_shape": "Baja n_layer o n_embd.",
    "train.lower_shape_bpe": "Baja n_layer o n_embd, o usa el tokenizador char (el vocabulario BPE añade una fila de n_embd pesos por token).",
    "train.session_keeps_model": "Tu sesión conserva su modelo anterior.",
    "train.already_running": (
        "Ya tienes un entrenamiento en marcha o en espera en esta sesión: pulsa Parar primero, o espera a que termine."
    ),
    "train.queue_full": "Ya hay {count} entrenamientos esperando (el límite es {limit}). Vuelve a intentarlo en unos minutos.",
    # --- los archivos: checkpoints y textos (ui/checkpoints.py) ---
    "upload.no_checkpoint": "No ha llegado ningún archivo: elige un checkpoint .safetensors para subirlo.",
    "upload.not_safetensors": (
        "{file} no es un archivo .safetensors. Solo se aceptan checkpoints de Mirador en formato safetensors (los "
        "archivos .pt/.bin con pickle podrían ejecutar código al cargarse)."
    ),
    "upload.too_big": "{file} ocupa {size}; el límite de subida es {limit}. Sube un modelo más pequeño.",
    "upload.too_many_parameters": "{file} tiene {count:,} parámetros; esta aplicación sirve como mucho {limit:,}. Sube un modelo más pequeño.",
    "upload.context_too_long": (
        "{file} tiene un contexto de {count} tokens; esta aplicación sirve como mucho {limit}. Sube un modelo con un "
        "block_size menor."
    ),
    "upload.no_text_file": "No ha llegado ningún archivo: elige un archivo .txt.",
    "upload.not_text_file": "{file} no es un archivo de texto: sube un archivo .txt.",
    "upload.text_too_big": "{file} ocupa {size}; los textos que se suben tienen un límite de {limit}. Usa un texto más corto.",
    "upload.not_utf8": "{file} no es texto UTF-8: guárdalo como UTF-8 y vuelve a subirlo.",
    "upload.too_many_chars": "{file} tiene {count:,} caracteres; el límite es {limit:,}. Usa un texto más corto.",
    "upload.empty": "{file} está vacío: sube un archivo con algo de texto.",
    "model.untrained_note": "No se encontró {path}: este modelo está sin entrenar (pesos aleatorios).",
}
