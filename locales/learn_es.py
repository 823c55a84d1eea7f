"""Español: los textos de la pestaña Aprende (se unen a TEXTS de es.py; las mismas claves que
learn_en.py), con las palabras del artículo (GLOSSARY-es.md) y tuteo.
"""

TEXTS = {
    # La página y sus controles.
    "learn.intro": (
        "**Cómo funciona este GPT, paso a paso**, en el orden del artículo y de la clase. Cada figura se calcula "
        "en vivo con **tu modelo actual** (el incluido, o el que entrenaste o subiste) sobre **la oración que "
        "escribas aquí**. Junto a cada idea: su ecuación y las líneas del propio código de Mirador que la calculan."
    ),
    "learn.sentence.label": "Tu oración",
    "learn.sentence.info": "Pulsa Intro o el botón para mirarla. Las oraciones largas se cortan a los primeros tokens.",
    "learn.show": "Mirar dentro",
    "learn.layer.label": "Capa",
    "learn.layer.info": "para las secciones 4 a 7",
    "learn.head.label": "Cabeza",
    "learn.head.info": "para la sección 4",
    "learn.position.label": "Token (posición)",
    "learn.position.info": "el token que pregunta, en las secciones 4 a 8 y 10; 0 es el primero",
    "learn.code.label": "El código de Mirador",
    "learn.sampling.temperature": "temperatura",
    "learn.sampling.temperature.info": "0 = siempre el token más probable",
    "learn.sampling.top_k": "top_k",
    "learn.sampling.top_k.info": "0 = desactivado",
    "learn.sampling.top_p": "top_p",
    "learn.sampling.top_p.info": "1.0 = desactivado",
    "learn.note.cut_context": (
        "La oración tiene {total} tokens; la página mira los primeros {shown}: el contexto del modelo es de {context} tokens."
    ),
    "learn.note.cut_view": "La oración tiene {total} tokens; la página mira los primeros {shown}: las figuras muestran {shown} como mucho.",
    # 1. Del texto a los tokens.
    "learn.s1.title": "## 1 · Del texto a los tokens",
    "learn.s1.text": (
        "Un modelo lee números, no letras. Un **tokenizador** corta el texto en **tokens** y da a cada uno un "
        "id: su fila en el **vocabulario**. El tokenizador `char` (el del artículo) hace un token por carácter: "
        "un vocabulario diminuto y secuencias largas. `bpe` (la codificación por pares de bytes de GPT-2) une los "
        "trozos frecuentes en un solo token: secuencias más cortas, pero miles de tokens, y cada uno cuesta una "
        "fila de `n_embd` números en el embedding (la cabeza de salida reutiliza esa misma matriz: pesos "
        "atados). BPE trabaja sobre los bytes de UTF-8, así que un carácter que falta en su vocabulario, como "
        "«ñ» o «¿», se escribe con sus bytes («ñ» es ‹C3›‹B1›)."
    ),
    # 2. La línea base de bigramas.
    "learn.s2.title": "## 2 · La línea base: un modelo de bigramas",
    "learn.s2.text": (
        "El modelo de lenguaje más simple, el primero del artículo, es un **modelo de bigramas**: predice el "
        "siguiente token solo a partir del actual, como una tabla de qué letra suele seguir a cuál. Abajo, tu "
        "modelo ve solo el último token de la oración, y luego la oración entera: la diferencia es lo que aporta "
        "el contexto. Antes de entrenar, una apuesta justa da a cada uno de los $V$ tokens probabilidad $1/V$, y "
        "su pérdida es $\\ln V$: la cifra que todo modelo debe mejorar."
    ),
    # 3. Embeddings y posiciones.
    "learn.s3.title": "## 3 · Embeddings y posiciones",
    "learn.s3.text": (
        "Cada id de token elige una fila de la matriz de **embedding** (vector de representación) $E$: un vector "
        "de `n_embd` números que el entrenamiento mueve para que los tokens que se usan de forma parecida queden "
        "cerca. Una segunda matriz $P$ da a cada **posición** un vector propio, que se suma al del token, porque "
        "la atención por sí sola no conoce el orden de las palabras. Abajo: los embeddings de los tokens "
        "aplanados a dos dimensiones con PCA (pasa el cursor para ver el token; los de tu oración llevan "
        "etiqueta), y cuánto se parecen los embeddings de posición (similitud coseno)."
    ),
    # 4. Una cabeza.
    "learn.s4.title": "## 4 · Una cabeza de autoatención, paso a paso",
    "learn.s4.text": (
        "En la **autoatención** cada token hace una pregunta. Tres transformaciones lineales de su vector dan "
        "una **consulta** $q$ (¿qué busco?), una **clave** $k$ (¿qué ofrezco?) y un **valor** $v$ (¿qué "
        "transmito?). La consulta se compara con cada clave mediante un producto escalar, dividido entre "
        "$\\sqrt{d}$ ($d$: el tamaño de la cabeza) para que las puntuaciones no crezcan con $d$. La **máscara "
        "causal** pone a $-\\infty$ las puntuaciones de los tokens posteriores, así que un token nunca ve el "
        "futuro; la **softmax** convierte la fila en pesos que suman 1; la salida es la suma ponderada de los "
        "valores. Elige la capa, la cabeza y el token arriba de la página."
    ),
    # 5. Multicabeza.
    "learn.s5.title": "## 5 · Atención multicabeza",
    "learn.s5.text": (
        "Una cabeza aprende un hábito; la **atención multicabeza** ejecuta varias en paralelo, cada una sobre su "
        "propia porción del vector (tamaño de cabeza = `n_embd / n_head`). Aquí están todas las cabezas de la "
        "capa elegida, cada una mirando tokens distintos. Sus salidas se colocan una junto a otra "
        "(concatenadas) en un vector de `n_embd` números, y una última transformación lineal, la proyección de "
        "salida $W^O$, las mezcla en lo que la atención suma al flujo residual."
    ),
    # 6. Red feed-forward.
    "learn.s6.title": "## 6 · La red feed-forward",
    "learn.s6.text": (
        "La atención deja que los tokens hablen entre sí; la **red feed-forward (MLP)** deja luego que cada token "
        "piense por su cuenta. Ensancha el vector 4 veces, aplica una **GELU** (una ReLU suave: los números "
        "positivos pasan y los negativos se aplastan casi a 0) y lo proyecta de vuelta. Cada unidad oculta actúa "
        "como un pequeño detector. Abajo: la GELU con las unidades ocultas del token elegido sobre ella, y las "
        "unidades de la capa elegida que más se activan, con qué tokens de tu oración."
    ),
    # 7. Flujo residual y LayerNorm.
    "learn.s7.title": "## 7 · El flujo residual y la normalización de capa",
    "learn.s7.text": (
        "Un bloque no reemplaza el vector de un token: le **suma** algo. Esa suma acumulada es el **flujo "
        "residual**, y las sumas son las **conexiones residuales**: dejan que la señal, y su gradiente, "
        "atraviesen muchas capas. Antes de la atención y antes de la MLP, la **normalización de capa "
        "(LayerNorm)** reescala el vector de cada token a media 0 y dispersión 1 entre sus números, y luego "
        "aplica una ganancia $\\gamma$ y un desplazamiento $\\beta$ aprendidos, para que cada subcapa lea números "
        "de un tamaño estable aunque el flujo crezca. Abajo: el tamaño del flujo tras cada paso, y la media y "
        "la dispersión antes y después de cada LayerNorm."
    ),
    # 8. Lente de logits.
    "learn.s8.title": "## 8 · La lente de logits: predecir tras cada capa",
    "learn.s8.text": (
        "Solo el final del flujo se convierte en una predicción. Pero la misma normalización final y la misma "
        "cabeza de salida se pueden aplicar al flujo tras cada capa: es la **lente de logits (logit lens)**. "
        "Muestra qué predeciría el modelo si se detuviera ahí, y cómo la apuesta se afina capa tras capa; la "
        "última fila es la predicción real del modelo. El token es el elegido arriba; el siguiente token real de "
        "tu oración, cuando lo hay, aparece sombreado."
    ),
    # 9. Muestreo.
    "learn.s9.title": "## 9 · De los logits a un token",
    "learn.s9.text": (
        "Al final de la oración el modelo da un **logit** por cada token del vocabulario, y la **softmax** los "
        "convierte en probabilidades. Generar es sacar el siguiente token de ellas, tras tres cambios opcionales "
        "aplicados en este orden, como hace la pestaña Generar: la **temperatura** $T$ divide los logits (por "
        "debajo de 1 afila, por encima aplana; 0 toma siempre el token más probable, voraz), **top-k** se queda "
        "con los $k$ tokens más probables, y **top-p** con el menor número de tokens más probables cuyas "
        "probabilidades sumen al menos $p$. Los demás reciben 0, y el resto se reescala para volver a sumar 1."
    ),
    # 10. Pérdida y dropout.
    "learn.s10.title": "## 10 · El entrenamiento: la pérdida y el dropout",
    "learn.s10.text": (
        "El entrenamiento muestra texto al modelo y mide su **sorpresa** ante cada siguiente token real, "
        "$-\\ln p$: 0 si estaba seguro y acertó, grande si le dio poca probabilidad. La media es la **pérdida de "
        "entropía cruzada**. Un modelo nuevo empieza con pesos aleatorios pequeños (desviación típica 0,02), así "
        "que sus logits están todos cerca de 0, la softmax es casi uniforme y la pérdida empieza cerca de "
        "$\\ln V$; el entrenamiento la hace bajar. El **dropout** combate el sobreajuste: durante el "
        "entrenamiento pone a cero cada número con probabilidad $p$ y escala los demás por $1/(1-p)$, para que "
        "su suma esperada no cambie; en evaluación (y siempre que esta app genera o mira) no se descarta nada."
    ),
    # Palabras de las figuras.
    "learn.fig.value": "valor",
    "learn.fig.dimension": "dimensión",
    "learn.fig.score": "puntuación",
    "learn.fig.weight": "peso",
    "learn.fig.probability": "probabilidad",
    "learn.fig.tokens.unknown": "«{char}» no está en este vocabulario",
    "learn.fig.tokens.piece_of": "id {id}: bytes de «{char}»",
    "learn.fig.tokens.id": "id {id}",
    "learn.fig.tokens.vocab": "vocabulario",
    "learn.fig.tokens.length": "tokens",
    "learn.fig.tokens.embedding": "embedding",
    "learn.fig.tokens.params": "{v} × {c} = {n} parámetros",
    "learn.fig.tokens.head": "cabeza de salida",
    "learn.fig.tokens.tied": "la misma matriz (atada), 0 más",
    "learn.fig.tokens.more": "… y {n} tokens más",
    "learn.fig.tokens.unknown_note": "{n} carácter(es) en rojo no están en este vocabulario: un modelo char no puede leerlos.",
    "learn.fig.tokens.own": "el tokenizador de este modelo",
    "learn.fig.tokens.reference": "ajustado al texto incluido en la app, para comparar",
    "learn.fig.tokens.example_char": "char",
    "learn.fig.tokens.example_bpe": "bpe (como arriba)",
    "learn.fig.tokens.example_gpt2": "el BPE completo de GPT-2 ({n} tokens)",
    "learn.fig.tokens.count": "{n} tokens",
    "learn.fig.tokens.example_title": "En español: {sentence}",
    "learn.fig.tokens.example_sub": "las fichas naranjas son bytes de un carácter (pasa el cursor para ver cuál)",
    "learn.fig.qkv.title": "Consulta, claves y valores de esta cabeza, para «{token}»",
    "learn.fig.qkv.query": "consulta q de «{token}»",
    "learn.fig.qkv.keys": "claves K (una fila por token)",
    "learn.fig.qkv.values": "valores V",
    "learn.fig.qkv.hover": "%{y}, dimensión %{x}: %{z:.3f}",
    "learn.fig.scores.title": "Puntuaciones q·kᵀ/√d y la máscara causal (la fila de «{token}» recuadrada)",
    "learn.fig.scores.before": "puntuaciones",
    "learn.fig.scores.after": "tras la máscara (gris: −∞)",
    "learn.fig.scores.hover": "consulta %{y} → clave %{x}<br>puntuación %{z:.3f}",
    "learn.fig.softmax.title": "Softmax de la fila: los pesos (suman {total})",
    "learn.fig.softmax.hover": "clave %{x}<br>puntuación %{customdata:.3f} → peso %{y:.3f}",
    "learn.fig.sum.title": "Suma ponderada de los valores: la salida de la cabeza para «{token}»",
    "learn.fig.sum.row": "{weight} × v({token})",
    "learn.fig.sum.output": "= salida",
    "learn.fig.sum.output_rest": "= salida (con {n} más)",
    "learn.fig.heads.title": "Todas las cabezas de la capa {layer} (la fila del token elegido recuadrada)",
    "learn.fig.heads.hover": "consulta %{y} → clave %{x}<br>peso %{z:.3f}",
    "learn.fig.heads.head": "cabeza {head}",
    "learn.fig.heads.head_short": "c{head}",
    "learn.fig.proj.title": "Concatenar las cabezas y proyectar (token «{token}»)",
    "learn.fig.proj.hover_head": "cabeza %{customdata}, dimensión %{x}: %{z:.3f}",
    "learn.fig.proj.concat": "las salidas de las {n} cabezas, una junto a otra",
    "learn.fig.proj.projected": "tras la proyección de salida Wᴼ: lo que la atención suma al flujo",
    "learn.fig.embed.title": "Embeddings de los tokens en 2-D (PCA)",
    "learn.fig.embed.axis": "componente {n} ({share} de la varianza)",
    "learn.fig.embed.vocabulary": "vocabulario",
    "learn.fig.embed.sentence": "tu oración",
    "learn.fig.positions.title": "Similitud de los embeddings de posición",
    "learn.fig.positions.cosine": "coseno",
    "learn.fig.positions.axis": "posición",
    "learn.fig.positions.hover": "posiciones %{y} y %{x}: %{z:.2f}",
    "learn.fig.gelu.curve": "GELU",
    "learn.fig.gelu.title": "GELU sobre las {wide} unidades ocultas de «{token}» (ensanchado desde {narrow})",
    "learn.fig.gelu.before": "antes de la GELU",
    "learn.fig.gelu.after": "después",
    "learn.fig.gelu.units": "{n} unidades ocultas",
    "learn.fig.gelu.hover": "unidad %{customdata}: %{x:.2f} → %{y:.2f}",
    "learn.fig.units.title": "Capa {layer}: las unidades ocultas que más se activan",
    "learn.fig.units.unit": "unidad {unit}",
    "learn.fig.units.activation": "activación",
    "learn.fig.units.hover": "%{y} con %{x}: %{z:.2f}",
    "learn.fig.norm.title": "Tamaño del flujo residual, paso a paso",
    "learn.fig.norm.mean": "media de los tokens",
    "learn.fig.norm.token": "«{token}»",
    "learn.fig.norm.embeddings": "embeddings",
    "learn.fig.norm.attn": "+ atención {layer}",
    "learn.fig.norm.mlp": "+ MLP {layer}",
    "learn.fig.ln.title": "Antes y después de cada LayerNorm",
    "learn.fig.ln.mean": "media",
    "learn.fig.ln.spread": "dispersión (desviación típica)",
    "learn.fig.ln.before": "antes",
    "learn.fig.ln.after": "después",
    "learn.fig.ln.name1": "C{layer} ln_1",
    "learn.fig.ln.name2": "C{layer} ln_2",
    "learn.fig.ln.final": "ln_f",
    "learn.fig.lens.heading": "Qué predeciría el modelo tras el token {position}, «{token}», si se detuviera tras cada capa:",
    "learn.fig.lens.stage": "flujo",
    "learn.fig.lens.rank": "n.º {n}",
    "learn.fig.lens.target": "siguiente token real «{token}»",
    "learn.fig.lens.embeddings": "solo los embeddings",
    "learn.fig.lens.after": "tras la capa {layer}",
    "learn.fig.lens.final": "tras la capa {layer} (la predicción del modelo)",
    "learn.fig.bigram.title": "¿Qué viene después de «{token}»?",
    "learn.fig.bigram.alone": "solo a partir de «{token}»",
    "learn.fig.bigram.context": "a partir de toda la oración",
    "learn.fig.bigram.uniform": "apuesta uniforme, ln V",
    "learn.fig.bigram.alone_loss": "con cada token solo",
    "learn.fig.bigram.context_loss": "con todos los tokens anteriores",
    "learn.fig.bigram.one_token": "Escribe al menos dos tokens para ver la pérdida del modelo en tu oración.",
    "learn.fig.bigram.units": "Pérdidas en tu oración, en nats (logaritmo natural): cuanto más baja, mejor.",
    "learn.fig.sampling.title": "Las probabilidades del siguiente token, etapa por etapa (al final de tu oración)",
    "learn.fig.sampling.others": "todos los demás",
    "learn.fig.sampling.softmax": "1 · softmax de los logits",
    "learn.fig.sampling.greedy": "2 · temperatura 0: voraz",
    "learn.fig.sampling.temperature": "2 · temperatura {value}",
    "learn.fig.sampling.top_k": "3 · top-k, k = {value}",
    "learn.fig.sampling.top_k_off": "3 · top-k: desactivado",
    "learn.fig.sampling.top_p": "4 · top-p, p = {value}",
    "learn.fig.sampling.top_p_off": "4 · top-p: desactivado",
    "learn.fig.surprise.title": "Sorpresa ante cada siguiente token real",
    "learn.fig.surprise.axis": "−ln p (nats)",
    "learn.fig.surprise.bars": "sorpresa",
    "learn.fig.surprise.loss": "media = la pérdida, {value}",
    "learn.fig.surprise.uniform": "ln V = {value}",
    "learn.fig.surprise.hover": "prediciendo %{x}<br>p = %{customdata:.1%}, −ln p = %{y:.2f}",
    "learn.fig.dropout.title": "Dropout sobre el vector de «{token}»: {zeroed} de {total} a cero, el resto × {scale}",
    "learn.fig.dropout.eval": "evaluación: sin cambios",
    "learn.fig.dropout.train": "entrenamiento, p = {p}: un sorteo al azar",
    "learn.fig.dropout.example": "este modelo se entrenó sin dropout: se muestra con p = {p}",
}
